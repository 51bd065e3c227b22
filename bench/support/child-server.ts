import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface ChildServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the raw floor (bench/raw-floor.ts) in a process of its own, so it never shares the bench's event loop. */
export async function startRawFloor(env: Record<string, string>): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', 'raw-floor.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the raw floor did not start:\n${output}`)), 30_000);
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-5_000);
      const match = /raw floor at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the raw floor exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
