import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource } from 'typeorm';
import type { DatabaseConfig } from '../config';
import { Group } from '../groups/group.entity';
import { ImageGroupLink } from '../images/image-group-link.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { Image } from '../images/image.entity';
import { ImageAvailabilityRecord } from '../images/image-availability.entity';
import { ImagePullSecret } from '../pull-secrets/image-pull-secret.entity';
import { PullSecretShare } from '../pull-secrets/pull-secret-share.entity';
import { hostPoolDriver } from './host-pool';
import { migrations } from './migrations';
import { LogSink, SqlLogger } from './sql-logger';

/**
 * A healthy server answers a new connection in milliseconds. While it is down, every request the
 * pool has no live connection for waits this long before failing with SERVICE_UNAVAILABLE (a
 * refused connection fails at once; an unreachable host takes the whole timeout), so it is kept
 * short; mysql2's default is 10 s.
 */
const CONNECT_TIMEOUT_MS = 3_000;

export const entities = [Image, Group, ImagePullSecret, ImageGroupLink, AuditEvent, ImageAvailabilityRecord, PullSecretShare];

export interface DataSourceOptions {
  poolSize?: number;
  logSql?: boolean;
  /** The service passes its JSON logger; the CLIs log to the console. */
  log?: LogSink;
}

/** The app, the tests and the TypeORM CLI (ormconfig.ts) all open the database through here. */
export function createDataSource(database: DatabaseConfig, options: DataSourceOptions = {}): DataSource {
  const common = {
    entities,
    migrations,
    synchronize: false,
    migrationsTransactionMode: 'each' as const,
    logging: ['query', 'error', 'warn', 'migration'] as ('query' | 'error' | 'warn' | 'migration')[],
    logger: new SqlLogger(options.logSql ?? false, options.log),
    maxQueryExecutionTime: 1000,
  };
  if (database.kind === 'sqlite') {
    if (database.path !== ':memory:') mkdirSync(dirname(database.path), { recursive: true });
    return new DataSource({
      ...common,
      type: 'better-sqlite3',
      database: database.path,
      enableWAL: database.path !== ':memory:',
      timeout: 5000,
    });
  }
  return new DataSource({
    ...common,
    type: database.flavor,
    host: database.host,
    port: database.port,
    username: database.username,
    password: database.password,
    database: database.database,
    charset: 'utf8mb4_unicode_ci',
    // mysql2 would otherwise read and write DATETIME in the process's local time zone.
    timezone: 'Z',
    poolSize: options.poolSize ?? 10,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // One pool per host, with failover between them (host-pool.ts); `poolSize` is per host.
    driver: hostPoolDriver({ hosts: database.hosts, selection: database.hostSelection, wsrepSyncWait: database.wsrepSyncWait }),
  });
}

export function sqlLogger(dataSource: DataSource): SqlLogger {
  return dataSource.logger as SqlLogger;
}
