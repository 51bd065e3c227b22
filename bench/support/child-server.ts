import { join } from 'node:path';
import { spawnUntil } from '../../test/helpers/spawn-until';

const ROOT = join(__dirname, '..', '..');

export interface ChildServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the raw floor (bench/raw-floor.ts) in a process of its own, so it never shares the bench's event loop. */
export async function startRawFloor(env: Record<string, string>): Promise<ChildServer> {
  const started = await spawnUntil(['-r', 'ts-node/register/transpile-only', join(__dirname, '..', 'raw-floor.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    label: 'the raw floor',
    timeoutMs: 30_000,
    ready: (output) => /raw floor at (http:\/\/\S+)/.exec(output)?.[1],
    keepChars: 5_000,
  });
  const url = started.found;
  const { child, exited } = started;
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
