import type { ChildProcess } from 'node:child_process';

/**
 * SIGTERM, as a service manager stops a server, and SIGKILL if it has not exited after
 * `killAfterMs`; resolves with how long it took, once `exited` has.
 */
export async function terminate(child: ChildProcess, exited: Promise<void>, killAfterMs: number): Promise<number> {
  const started = Date.now();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
  return Date.now() - started;
}
