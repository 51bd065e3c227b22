import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { spawnUntil } from './spawn-until';

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
  const started = await spawnUntil(['-r', 'ts-node/register/transpile-only', join(__dirname, '..', '..', 'src', 'main.ts')], {
    env: { ...inherited, PORT: '0', HOST: '127.0.0.1', ...env },
    label: 'service',
    timeoutMs: 25_000,
    ready: (output) => {
      const url = /GraphQL at (http:\/\/\S+)/.exec(output)?.[1];
      return url && waitFor.every((pattern) => pattern.test(output)) ? url : undefined;
    },
  });
  return { child: started.child, url: started.found, output: started.output, exited: started.exited };
}
