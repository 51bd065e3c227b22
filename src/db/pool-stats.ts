import { DataSource } from 'typeorm';
import type { PoolStats } from '../observability/metrics';
import { isSqlite } from './dialect';

interface Mysql2Pool {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
}

/**
 * Connections of the database pool. mysql2 keeps its counts in fields it does not document (read
 * defensively); better-sqlite3 is one connection, always open.
 */
export function poolStats(dataSource: DataSource): PoolStats {
  if (!dataSource.isInitialized) return { inUse: 0, idle: 0 };
  if (isSqlite(dataSource)) return { inUse: 0, idle: 1 };
  const pool = (dataSource.driver as unknown as { pool?: Mysql2Pool }).pool;
  const all = pool?._allConnections?.length ?? 0;
  const idle = pool?._freeConnections?.length ?? 0;
  return { inUse: all - idle, idle };
}
