import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createDataSource } from '../src/db/data-source';
import { MIGRATION_LOCK_TABLE, pendingMigrations, runPendingMigrations } from '../src/db/migrate';
import { migrations } from '../src/db/migrations';
import { startServiceProcess } from './helpers/service-process';
import { TEST_JWT_SECRET, TEST_SECRETS_KEY } from './helpers/test-app';
import { createTestDatabase, onMysql, TestDatabase } from './helpers/test-database';

let database: TestDatabase;
const open: DataSource[] = [];

async function connect(): Promise<DataSource> {
  const dataSource = createDataSource(database.config, { poolSize: 2 });
  await dataSource.initialize();
  open.push(dataSource);
  return dataSource;
}

beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  for (const dataSource of open.splice(0)) if (dataSource.isInitialized) await dataSource.destroy();
  await database.drop();
});

function migrateCli() {
  const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', 'src', 'cli', 'migrate.ts')], {
    env: { ...process.env, DATABASE_URL: database.url },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('migrations', () => {
  it('npm run migrate applies the pending ones and says which, then that nothing is left', () => {
    const first = migrateCli();
    expect(first).toMatchObject({ status: 0 });
    expect(first.output).toContain(`migrate: applied ${migrations.map((m) => m.name).join(', ')}`);
    expect(migrateCli().output).toContain('migrate: the database is up to date');
  });

  it('tells which are pending without writing anything, so the readiness probe can ask', async () => {
    const dataSource = await connect();
    expect(await pendingMigrations(dataSource)).toEqual(migrations.map((m) => m.name));
    const runner = dataSource.createQueryRunner();
    expect(await runner.hasTable('migrations')).toBe(false);
    await runner.release();
    await dataSource.runMigrations({ transaction: 'each' });
    await dataSource.undoLastMigration({ transaction: 'each' });
    expect(await pendingMigrations(dataSource)).toEqual([migrations[migrations.length - 1].name]);
  });

  it('with MIGRATE_ON_START=false on an empty database the service starts, not ready, and says what to run', async () => {
    const service = await startServiceProcess({
      DATABASE_URL: database.url,
      MIGRATE_ON_START: 'false',
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      SECRETS_KEY: TEST_SECRETS_KEY,
      NODE_ENV: 'production',
    });
    try {
      expect(service.output()).toContain('migrations are pending (MIGRATE_ON_START=false): run `npm run migrate`');
      expect(service.output()).toContain('(not ready: migrations pending)');
      const ready = await fetch(new URL('/readyz', service.url));
      expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 503, body: { status: 'unavailable', checks: { database: 'ok', migrations: 'pending' } } });
      expect(migrateCli()).toMatchObject({ status: 0 });
      expect((await fetch(new URL('/readyz', service.url))).status).toBe(200);
    } finally {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
  }, 30_000);

  it('roll back to an empty database and forward again', async () => {
    const dataSource = await connect();
    await runPendingMigrations(dataSource);
    for (let i = 0; i < migrations.length; i++) await dataSource.undoLastMigration({ transaction: 'each' });
    const runner = dataSource.createQueryRunner();
    for (const table of ['images', 'user_groups', 'image_pull_secrets', 'image_group_links', 'audit_events']) {
      expect({ table, exists: await runner.hasTable(table) }).toEqual({ table, exists: false });
    }
    await runner.release();
    expect((await runPendingMigrations(dataSource)).length).toBe(migrations.length);
  });

  it('folds the text of the records that exist when the text keys arrive, and keeps SQLite\'s NOCASE on the rebuilt tables', async () => {
    const dataSource = await connect();
    await runPendingMigrations(dataSource);
    const textKeysAndLater = migrations.length - migrations.findIndex((m) => m.name === 'TextKeys1765200000000');
    for (let i = 0; i < textKeysAndLater; i++) await dataSource.undoLastMigration({ transaction: 'each' });
    // Raw SQL: booleans and instants as both drivers bind them.
    const now = '2026-01-01 00:00:00.000';
    await dataSource.query('INSERT INTO user_groups (id, name, displayName, description, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)', [
      '00000000-0000-4000-8000-000000000001', 'Data_Science', 'Ärzte Team', 'Straße', now, now,
    ]);
    await dataSource.query(
      'INSERT INTO images (id, name, displayName, description, type, url, urlForGpu, pullSecretId, global, enabled, version, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?)',
      ['00000000-0000-4000-8000-000000000002', 'tf-2', 'Ünïcödé', 'Für İstanbul', 'CPU', 'lab/tf:2', 0, 1, 1, now, now],
    );
    await runPendingMigrations(dataSource);
    const [group] = await dataSource.query('SELECT nameKey, displayNameKey, searchText FROM user_groups');
    expect(group).toEqual({ nameKey: 'data_science', displayNameKey: 'arzte team', searchText: 'data_science\narzte team' });
    const [image] = await dataSource.query('SELECT displayNameKey, searchText FROM images');
    expect(image).toEqual({ displayNameKey: 'unicode', searchText: 'tf-2\nunicode\nfur istanbul' });
    // Names still compare ignoring case after SQLite rebuilt the table.
    const [{ n }] = await dataSource.query("SELECT COUNT(*) AS n FROM user_groups WHERE name = 'data_science'");
    expect(Number(n)).toBe(1);
  });

  (onMysql() ? it : it.skip)('let replicas that start together take turns: each migration runs once', async () => {
    const replicas = await Promise.all([connect(), connect(), connect()]);
    const applied = await Promise.all(replicas.map((dataSource) => runPendingMigrations(dataSource)));
    expect(applied.map((list) => list.length).sort()).toEqual([0, 0, migrations.length]);
    const rows: unknown[] = await replicas[0].query('SELECT name FROM migrations');
    expect(rows).toHaveLength(migrations.length);
  });

  (onMysql() ? it : it.skip)('waits for a live holder of the migration lock, and takes over the row of one that died', async () => {
    const [dataSource, other] = await Promise.all([connect(), connect()]);
    await dataSource.query(`CREATE TABLE ${MIGRATION_LOCK_TABLE} (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, holder VARCHAR(100) NOT NULL, expiresAt DATETIME(3) NOT NULL)`);

    // A replica that is migrating (its heartbeat keeps the row fresh): the newcomer waits for it.
    await other.query(`INSERT INTO ${MIGRATION_LOCK_TABLE} VALUES (1, 'busy-replica', UTC_TIMESTAMP(3) + INTERVAL 60 SECOND)`);
    let done = false;
    const waiting = runPendingMigrations(dataSource).then((applied) => ((done = true), applied));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(done).toBe(false);
    expect(await pendingMigrations(dataSource)).toHaveLength(migrations.length);
    await other.query(`DELETE FROM ${MIGRATION_LOCK_TABLE} WHERE holder = 'busy-replica'`);
    expect(await waiting).toHaveLength(migrations.length);
    // It let go of the lock when it was done.
    expect(await other.query(`SELECT * FROM ${MIGRATION_LOCK_TABLE}`)).toEqual([]);

    // A replica killed while migrating left its row: once that has expired, the next one goes ahead.
    await other.query(`INSERT INTO ${MIGRATION_LOCK_TABLE} VALUES (1, 'killed-replica', UTC_TIMESTAMP(3) - INTERVAL 1 SECOND)`);
    expect(await runPendingMigrations(dataSource)).toEqual([]);
    expect(await other.query(`SELECT * FROM ${MIGRATION_LOCK_TABLE}`)).toEqual([]);
  });
});
