import type { DataSource } from 'typeorm';

/** The embedded SQLite file: one connection, and transactions take turns on it (transaction.ts). */
export function isSqlite(dataSource: DataSource): boolean {
  return dataSource.options.type === 'better-sqlite3';
}

/**
 * Find options that row-lock what a write is decided on (MySQL/MariaDB `FOR UPDATE`), so
 * concurrent writers of one row take turns. SQLite has no row locks and needs none.
 */
export function forUpdate(dataSource: DataSource): { lock?: { mode: 'pessimistic_write' } } {
  return isSqlite(dataSource) ? {} : { lock: { mode: 'pessimistic_write' } };
}
