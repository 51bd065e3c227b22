import { DataSource, EntityManager } from 'typeorm';
import { ConcurrentChangeError, translateDatabaseError } from './database-errors';
import { isSqlite } from './dialect';

const MAX_ATTEMPTS = 5;
const sqliteQueues = new WeakMap<DataSource, Promise<unknown>>();

/**
 * Runs `work` in one transaction, so a failed mutation writes nothing. A lost race
 * (ConcurrentChangeError, a MySQL deadlock or lock-wait timeout) reruns the whole transaction a
 * bounded number of times; database errors leave here translated (see database-errors.ts).
 */
export async function inTransaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await serialized(dataSource, () => dataSource.transaction(work));
    } catch (error) {
      if (attempt < MAX_ATTEMPTS && isRetryable(error)) continue;
      throw translateDatabaseError(error);
    }
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

function isRetryable(error: unknown): boolean {
  if (error instanceof ConcurrentChangeError) return true;
  const errno = (error as { driverError?: { errno?: number } }).driverError?.errno;
  return errno === 1213 || errno === 1205;
}
