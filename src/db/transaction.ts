import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, EntityManager } from 'typeorm';
import { outcomeUnknown } from '../errors';
import { ConcurrentChangeError, mysqlErrno, translateDatabaseError } from './database-errors';
import { databaseUnavailableCause } from './database-unavailable';
import { isSqlite } from './dialect';

const MAX_ATTEMPTS = 5;
/** Backoff before attempt n+1 is random in [0, BASE * 2^n): racers that collided spread apart. */
const BACKOFF_BASE_MS = 15;
const sqliteQueues = new WeakMap<DataSource, Promise<unknown>>();
const retries = new WeakMap<DataSource, Map<string, number>>();

/** Transactions run again so far, by reason (for /metrics). */
export function transactionRetries(dataSource: DataSource): ReadonlyMap<string, number> {
  return retries.get(dataSource) ?? new Map();
}

/**
 * MySQL/MariaDB errors after which nothing of the transaction is applied once transaction() has
 * rolled it back (a lock-wait timeout undoes only its statement), so running it again is safe: a
 * deadlock, which is also how Galera answers a commit that lost certification against a write on
 * another node (1213); a lock-wait timeout (1205); a Galera node that is not, or no longer, part of
 * the primary component (1047).
 */
const ROLLED_BACK_ERRNOS = new Map([
  [1213, 'deadlock_or_certification'],
  [1205, 'lock_wait'],
  [1047, 'node_not_ready'],
]);

/** The connection went away during COMMIT: the server may or may not have applied it. */
class LostAtCommit extends Error {}

/** No host gave a connection (the pool has tried each): another attempt now would fare no better. */
class NoConnection extends Error {
  constructor(cause: unknown) {
    super('no database connection', { cause });
  }
}

/**
 * Runs `work` in one transaction, so a failed mutation writes nothing. A transaction that was
 * certainly rolled back (a lost race, a Galera certification failure, a node that left the
 * cluster, a connection lost before COMMIT) runs again, on a fresh connection and so on another
 * node if its own is gone, a bounded number of times with jitter. A connection lost during COMMIT
 * is not retried: that change may have been applied, and the client is told so. Database errors
 * leave here translated (see database-errors.ts).
 */
export async function inTransaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await serialized(dataSource, () => transaction(dataSource, work));
    } catch (error) {
      if (error instanceof LostAtCommit) throw outcomeUnknown();
      const reason = retryReason(error);
      if (attempt < MAX_ATTEMPTS && reason) {
        count(dataSource, reason);
        await sleep(Math.random() * BACKOFF_BASE_MS * 2 ** attempt);
        continue;
      }
      throw translateDatabaseError(error);
    }
  }
}

/** TypeORM's dataSource.transaction, but telling a failed COMMIT from a failure before it. */
async function transaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect().catch((error: unknown) => {
      throw new NoConnection(error);
    });
    await runner.startTransaction();
    let result: T;
    try {
      result = await work(runner.manager);
    } catch (error) {
      await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    }
    try {
      await runner.commitTransaction();
    } catch (error) {
      await runner.rollbackTransaction().catch(() => undefined);
      // A server that answered COMMIT with a deadlock (a lost certification) has rolled back; a lost
      // connection, or Galera's "error during commit" (1180, its node lost the cluster), tells nothing.
      throw mysqlErrno(error) === 1180 || (!ROLLED_BACK_ERRNOS.has(mysqlErrno(error) ?? 0) && databaseUnavailableCause(error)) ? new LostAtCommit() : error;
    }
    return result;
  } finally {
    await runner.release().catch(() => undefined);
  }
}

/**
 * better-sqlite3 is one connection shared by every request, and TypeORM would issue a second
 * BEGIN on it while a transaction is open; transactions therefore take turns on SQLite.
 */
function serialized<T>(dataSource: DataSource, run: () => Promise<T>): Promise<T> {
  if (!isSqlite(dataSource)) return run();
  const previous = sqliteQueues.get(dataSource) ?? Promise.resolve();
  const result = previous.then(run, run);
  sqliteQueues.set(
    dataSource,
    result.catch(() => undefined),
  );
  return result;
}

/** Why running `error`'s transaction again is safe, or undefined when it is not. */
function retryReason(error: unknown): string | undefined {
  if (error instanceof ConcurrentChangeError) return 'concurrent_change';
  const rolledBackBy = ROLLED_BACK_ERRNOS.get(mysqlErrno(error) ?? 0);
  if (rolledBackBy) return rolledBackBy;
  if (error instanceof NoConnection) return undefined;
  // The connection died under the transaction, before COMMIT (LostAtCommit is handled above):
  // nothing was applied, and a fresh connection (another node's, if this one is gone) may serve.
  return databaseUnavailableCause(error) ? 'connection_lost' : undefined;
}

function count(dataSource: DataSource, reason: string): void {
  const counts = retries.get(dataSource) ?? new Map<string, number>();
  retries.set(dataSource, counts);
  counts.set(reason, (counts.get(reason) ?? 0) + 1);
}
