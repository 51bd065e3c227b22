import type { DataSource } from 'typeorm';

/** The embedded SQLite file: one connection, and transactions take turns on it (transaction.ts). */
export function isSqlite(dataSource: DataSource): boolean {
  return dataSource.options.type === 'better-sqlite3';
}

/**
 * What ends a SELECT that reads rows as committed now and share-locks them: a writer holding them
 * waits for us, and we wait for one that holds them. `LOCK IN SHARE MODE`, since TypeORM writes
 * `FOR SHARE` for any server that calls itself 8.0 or later, MariaDB 10.11 included, which
 * refuses it. SQLite needs none.
 */
export function shareLock(dataSource: DataSource): string {
  return isSqlite(dataSource) ? '' : ' LOCK IN SHARE MODE';
}

/**
 * Find options that row-lock what a write is decided on (MySQL/MariaDB `FOR UPDATE`), so
 * concurrent writers of one row take turns. SQLite has no row locks and needs none.
 */
export function forUpdate(dataSource: DataSource): { lock?: { mode: 'pessimistic_write' } } {
  return isSqlite(dataSource) ? {} : { lock: { mode: 'pessimistic_write' } };
}
