import { join } from 'node:path';
import { spawnUntil } from '../../test/helpers/spawn-until';

const ROOT = join(__dirname, '..', '..');

export interface ChildServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts a floor (bench/raw-floor.ts or bench/strong-floor.ts) in a process of its own, so it
 * never shares the bench's event loop.
 */
export async function startFloor(kind: 'raw floor' | 'strong floor', env: Record<string, string>, nodeArgs: string[] = []): Promise<ChildServer> {
  const file = kind === 'raw floor' ? 'raw-floor.ts' : 'strong-floor.ts';
  const started = await spawnUntil([...nodeArgs, '-r', 'ts-node/register/transpile-only', join(__dirname, '..', file)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    label: `the ${kind}`,
    timeoutMs: 30_000,
    ready: (output) => new RegExp(`${kind} at (http://\\S+)`).exec(output)?.[1],
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
