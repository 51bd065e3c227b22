import { ChildProcess, spawn } from 'node:child_process';

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Names the process in errors. */
  label: string;
  timeoutMs: number;
  /** What the process's output shows once it is up (a URL, say), or undefined while it is not. */
  ready: (output: string) => string | undefined;
  /** A second way to tell, asked every 50 ms (for processes that may not print it). */
  poll?: () => Promise<string | undefined>;
  /** Keep only the last so many characters of output (for processes that log per request). */
  keepChars?: number;
}

export interface Spawned {
  child: ChildProcess;
  /** What `ready` or `poll` found. */
  found: string;
  /** What the process has written to stdout and stderr so far (its tail with `keepChars`). */
  output(): string;
  /** Resolves with the exit code once the process has ended and its output is drained. */
  exited: Promise<number | null>;
}

/**
 * `node <args>` in a process of its own, resolved once it is up; rejected with its output when it
 * exits or the time runs out first. The tests' service, the soak's and the bench's all start so.
 */
export async function spawnUntil(args: string[], options: SpawnOptions): Promise<Spawned> {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // 'close', not 'exit': by then the output pipes are drained, so output() holds the last lines.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const found = await new Promise<string>((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | undefined, value?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poller);
      if (error) reject(error);
      else resolve(value as string);
    };
    const timer = setTimeout(() => {
      // Nobody will hold on to a process that never came up: it must not outlive the run.
      child.kill('SIGKILL');
      settle(new Error(`${options.label} did not start:\n${output}`));
    }, options.timeoutMs);
    const { poll } = options;
    const poller = poll ? setInterval(() => void poll().then((value) => value !== undefined && settle(undefined, value), () => undefined), 50) : undefined;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.keepChars !== undefined) output = output.slice(-options.keepChars);
      const value = options.ready(output);
      if (value !== undefined) settle(undefined, value);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => settle(new Error(`${options.label} exited with ${code}:\n${output}`)));
  });
  return { child, found, output: () => output, exited };
}
