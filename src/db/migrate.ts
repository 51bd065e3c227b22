import { DataSource, Migration, MigrationExecutor } from 'typeorm';
import { isSqlite } from './dialect';

const LOCK_NAME = 'image_catalog_migrations';
const LOCK_WAIT_SECONDS = 120;

/**
 * Applies pending migrations. On MySQL/MariaDB several replicas may start at once (each migrating
 * on start, or an init container each): a named lock on one session makes them take turns, and a
 * latecomer finds nothing left to do. SQLite has a single writer anyway.
 */
export async function runPendingMigrations(dataSource: DataSource): Promise<Migration[]> {
  if (isSqlite(dataSource)) return dataSource.runMigrations({ transaction: 'each' });
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const [row] = (await runner.query('SELECT GET_LOCK(?, ?) AS locked', [LOCK_NAME, LOCK_WAIT_SECONDS])) as { locked: number | string | null }[];
    if (Number(row?.locked) !== 1) throw new Error(`another instance held the migration lock for more than ${LOCK_WAIT_SECONDS} s`);
    try {
      // On the session that holds the lock: a pool of one connection would otherwise wait on itself.
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      return await executor.executePendingMigrations();
    } finally {
      await runner.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]);
    }
  } finally {
    await runner.release();
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
