import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** src/main.ts in a process of its own, as `npm start` runs it. */
export interface ServiceProcess {
  child: ChildProcess;
  /** The GraphQL URL it printed at start. */
  url: string;
  /** Everything it has written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/**
 * Starts the service with `env` on top of this process's environment, minus the settings a test
 * must choose itself (authentication, keys, NODE_ENV), on a free loopback port; resolves once it
 * has printed its URL and whatever else `waitFor` names.
 */
export async function startServiceProcess(env: Record<string, string>, waitFor: RegExp[] = []): Promise<ServiceProcess> {
  const { AUTH_JWT_SECRET: _s, AUTH_JWKS_URL: _j, SECRETS_KEY: _k, NODE_ENV: _n, ...inherited } = process.env;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', '..', 'src', 'main.ts')], {
    env: { ...inherited, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // 'close', not 'exit': by then the output pipes are drained, so output() holds the last lines.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${output}`)), 25_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /GraphQL at (http:\/\/\S+)/.exec(output);
      if (match && waitFor.every((pattern) => pattern.test(output))) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code}:\n${output}`));
    });
  });
  return { child, url, output: () => output, exited };
}
