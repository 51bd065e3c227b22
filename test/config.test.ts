import { ConfigError, loadConfig } from '../src/config';

describe('loadConfig', () => {
  it('defaults to the embedded SQLite file, port 4000 and migrations on start', () => {
    expect(loadConfig({})).toMatchObject({
      port: 4000,
      database: { kind: 'sqlite', path: './data/image-catalog.sqlite' },
      migrateOnStart: true,
      dbPoolSize: 10,
      logSql: false,
    });
  });

  it('reads a MySQL URL, decoding the credentials and masking the password in its label', () => {
    const config = loadConfig({ DATABASE_URL: 'mysql://app:p%40ss@db.internal:3307/catalog', PORT: '8080', MIGRATE_ON_START: 'false' });
    expect(config.database).toEqual({
      kind: 'mysql',
      flavor: 'mysql',
      host: 'db.internal',
      port: 3307,
      username: 'app',
      password: 'p@ss',
      database: 'catalog',
    });
    expect(config.databaseLabel).toBe('mysql://app:***@db.internal:3307/catalog');
    expect(config).toMatchObject({ port: 8080, migrateOnStart: false });
  });

  it('takes mariadb:// too', () => {
    expect(loadConfig({ DATABASE_URL: 'mariadb://root@127.0.0.1/x' }).database).toMatchObject({ flavor: 'mariadb', port: 3306 });
  });

  it.each([
    [{ DATABASE_URL: 'postgres://x@y/z' }, /unsupported scheme/],
    [{ DATABASE_URL: 'mysql://root@localhost' }, /name the database/],
    [{ DATABASE_URL: 'sqlite:' }, /file path/],
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ MIGRATE_ON_START: 'maybe' }, /MIGRATE_ON_START/],
    [{ DB_POOL_SIZE: '0' }, /DB_POOL_SIZE/],
  ])('refuses %p with a clear message', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never puts a password into an error message', () => {
    expect(() => loadConfig({ DATABASE_URL: 'ftp://user:hunter2@host/db' })).toThrow(/^(?!.*hunter2)/);
  });
});
