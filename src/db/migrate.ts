import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, Migration } from 'typeorm';
import { mysqlErrno } from './database-errors';
import { isSqlite } from './dialect';

/** A row, not GET_LOCK: a named lock is one server's, and Galera's nodes do not share them. */
export const MIGRATION_LOCK_TABLE = 'image_catalog_migration_lock';
const LOCK_WAIT_MS = 120_000;
/** A holder that died leaves its row behind; it counts for this long after the last heartbeat. */
const LOCK_TTL_SECONDS = 60;
const HEARTBEAT_MS = 15_000;
/** Certification failure (Galera), lock-wait timeout, deadlock: someone else got there first. */
const LOST_RACE_ERRNOS = new Set([1062, 1205, 1213]);

/**
 * Applies pending migrations. On MySQL/MariaDB several replicas may start at once (each migrating
 * on start, or an init container each), on one server or on several nodes of a Galera cluster:
 * they take turns through a lock row (one primary key, so two nodes inserting it at once conflict
 * at certification and one of them fails), and a latecomer finds nothing left to do. The row
 * expires unless its holder keeps renewing it, so a replica killed mid-migration does not block
 * the others for longer than LOCK_TTL_SECONDS. SQLite has a single writer anyway.
 */
export async function runPendingMigrations(dataSource: DataSource): Promise<Migration[]> {
  if (isSqlite(dataSource)) return dataSource.runMigrations({ transaction: 'each' });
  const holder = `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`.slice(0, 100);
  await dataSource.query(
    `CREATE TABLE IF NOT EXISTS ${MIGRATION_LOCK_TABLE} (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, holder VARCHAR(100) NOT NULL, expiresAt DATETIME(3) NOT NULL) ENGINE=InnoDB`,
  );
  await acquireLock(dataSource, holder);
  const heartbeat = setInterval(() => {
    dataSource.query(`UPDATE ${MIGRATION_LOCK_TABLE} SET expiresAt = UTC_TIMESTAMP(3) + INTERVAL ${LOCK_TTL_SECONDS} SECOND WHERE id = 1 AND holder = ?`, [holder]).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    clearInterval(heartbeat);
    await dataSource.query(`DELETE FROM ${MIGRATION_LOCK_TABLE} WHERE id = 1 AND holder = ?`, [holder]).catch(() => undefined);
  }
}

async function acquireLock(dataSource: DataSource, holder: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await dataSource.query(`INSERT INTO ${MIGRATION_LOCK_TABLE} (id, holder, expiresAt) VALUES (1, ?, UTC_TIMESTAMP(3) + INTERVAL ${LOCK_TTL_SECONDS} SECOND)`, [holder]);
      return;
    } catch (error) {
      if (!LOST_RACE_ERRNOS.has(mysqlErrno(error) ?? 0)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`another instance held the migration lock for more than ${LOCK_WAIT_MS / 1000} s`);
    // Racing the holder's heartbeat on another node can lose certification: then try again later.
    await dataSource.query(`DELETE FROM ${MIGRATION_LOCK_TABLE} WHERE id = 1 AND expiresAt < UTC_TIMESTAMP(3)`).catch((error: unknown) => {
      if (!LOST_RACE_ERRNOS.has(mysqlErrno(error) ?? 0)) throw error;
    });
    await sleep(100 + Math.random() * 200);
  }
}

/**
 * Names of the migrations not yet applied. Read-only, unlike TypeORM's showMigrations (which
 * creates its bookkeeping table): a readiness probe must not write.
 */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const table = dataSource.options.migrationsTableName ?? 'migrations';
  const runner = dataSource.createQueryRunner();
  try {
    const applied = (await runner.hasTable(table))
      ? new Set(((await runner.query(`SELECT name FROM ${runner.connection.driver.escape(table)}`)) as { name: string }[]).map((row) => row.name))
      : new Set<string>();
    return dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name).filter((name) => !applied.has(name));
  } finally {
    await runner.release();
  }
}
