import { DataSource } from 'typeorm';
import type { PoolStats } from '../observability/metrics';
import { isSqlite } from './dialect';
import { HostPool } from './host-pool';

/** Connections of the database pool, over every host; better-sqlite3 is one connection, always open. */
export function poolStats(dataSource: DataSource): PoolStats {
  if (!dataSource.isInitialized) return { inUse: 0, idle: 0 };
  if (isSqlite(dataSource)) return { inUse: 0, idle: 1 };
  const { all, idle } = hostPool(dataSource)?.connections() ?? { all: 0, idle: 0 };
  return { inUse: all - idle, idle };
}

/** The pool TypeORM's MySQL driver holds, once initialized (data-source.ts gives it a HostPool). */
export function hostPool(dataSource: DataSource): HostPool | undefined {
  const pool = (dataSource.driver as unknown as { pool?: unknown }).pool;
  return pool instanceof HostPool ? pool : undefined;
}
