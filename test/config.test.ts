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
      hosts: [{ host: 'db.internal', port: 3307 }],
      hostSelection: 'sequential',
      wsrepSyncWait: 1,
      username: 'app',
      password: 'p@ss',
      database: 'catalog',
    });
    expect(config.databaseLabel).toBe('mysql://app:***@db.internal:3307/catalog');
    expect(config).toMatchObject({ port: 8080, migrateOnStart: false });
  });

  it('keeps the default SQLite file in DATA_DIR when that is set', () => {
    expect(loadConfig({ DATA_DIR: '/var/lib/catalog/' }).database).toEqual({ kind: 'sqlite', path: '/var/lib/catalog/image-catalog.sqlite' });
    expect(loadConfig({ DATA_DIR: '/var/lib/catalog', DATABASE_URL: 'sqlite:/elsewhere.sqlite' }).database).toEqual({ kind: 'sqlite', path: '/elsewhere.sqlite' });
  });

  it('reads several hosts (the nodes of a Galera cluster) in their order, with the default port where none is given', () => {
    const config = loadConfig({ DATABASE_URL: 'mysql://app:s%2Fecret@galera-0.db:3306,galera-1.db,10.0.0.7:3307/catalog?hostSelection=round-robin&wsrepSyncWait=3' });
    expect(config.database).toEqual({
      kind: 'mysql',
      flavor: 'mysql',
      host: 'galera-0.db',
      port: 3306,
      hosts: [
        { host: 'galera-0.db', port: 3306 },
        { host: 'galera-1.db', port: 3306 },
        { host: '10.0.0.7', port: 3307 },
      ],
      hostSelection: 'round-robin',
      wsrepSyncWait: 3,
      username: 'app',
      password: 's/ecret',
      database: 'catalog',
    });
    expect(config.databaseLabel).toBe('mysql://app:***@galera-0.db:3306,galera-1.db,10.0.0.7:3307/catalog?hostSelection=round-robin&wsrepSyncWait=3');
    expect(loadConfig({ DATABASE_URL: 'mysql://root@[::1]:3306,[fd00::2]/x' }).database).toMatchObject({ hosts: [{ host: '::1', port: 3306 }, { host: 'fd00::2', port: 3306 }] });
    expect(loadConfig({ DATABASE_URL: 'mysql://root@[::1]:3307/x' }).database).toMatchObject({ host: '::1', hosts: [{ host: '::1', port: 3307 }] });
    // An "@" in the query string does not make the host list part of the user info.
    expect(loadConfig({ DATABASE_URL: 'mysql://u:p@h1,h2/db?note=a@b' }).database).toMatchObject({ hosts: [{ host: 'h1', port: 3306 }, { host: 'h2', port: 3306 }], password: 'p' });
  });

  it.each([
    ['mysql://app:hunter2@h1:3306,,h3/db', /host:port\[,host:port...\]/],
    ['mysql://app:hunter2@h1:3306,h2:99999/db', /host:port\[,host:port...\]/],
    ['mysql://app:hunter2@h1,h2 x/db', /host:port\[,host:port...\]/],
    ['mysql://app:hunter2@h1,h2/db?hostSelection=random', /hostSelection must be sequential or round-robin/],
    ['mysql://app:hunter2@h1/db?wsrepSyncWait=16', /wsrepSyncWait must be a number from 0 to 15/],
  ])('refuses %s with a clear message that never shows the password', (url, message) => {
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(message);
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(/^(?!.*hunter2)/);
  });

  it('masks a password that holds a raw "@" entirely', () => {
    expect(loadConfig({ DATABASE_URL: 'mysql://app:se@cret@db:3306/catalog' }).databaseLabel).toBe('mysql://app:***@db:3306/catalog');
    expect(() => loadConfig({ DATABASE_URL: 'mysql://app:pa/ss@db:3306/x' })).toThrow(/^(?!.*pa\/ss)/);
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

describe('loadConfig: authentication and secrets', () => {
  const key = Buffer.alloc(32, 1).toString('base64');

  it('runs in dev mode without auth settings outside production, with Keycloak-friendly claim defaults', () => {
    expect(loadConfig({}).auth).toMatchObject({
      devMode: true,
      rolesClaim: 'roles',
      adminRole: 'admin',
      groupsClaim: 'groups',
      secretReaderRole: 'secret-reader',
      clockToleranceSeconds: 30,
    });
  });

  it('reads an HS256 secret or a JWKS URL, with issuer and audience', () => {
    const hs = loadConfig({ AUTH_JWT_SECRET: 's'.repeat(32), AUTH_ISSUER: 'https://sso/realms/x', AUTH_AUDIENCE: 'catalog' }).auth;
    expect(hs).toMatchObject({ devMode: false, jwtSecret: 's'.repeat(32), issuer: 'https://sso/realms/x', audience: 'catalog' });
    expect(loadConfig({ AUTH_JWKS_URL: 'https://sso/certs' }).auth).toMatchObject({ devMode: false, jwksUrl: 'https://sso/certs' });
  });

  it('reads SECRETS_KEY and SECRETS_KEY_PREVIOUS as 32-byte keys', () => {
    const previous = Buffer.alloc(32, 2).toString('base64');
    const { secrets } = loadConfig({ SECRETS_KEY: key, SECRETS_KEY_PREVIOUS: previous });
    expect(secrets.key?.equals(Buffer.alloc(32, 1))).toBe(true);
    expect(secrets.previousKey?.equals(Buffer.alloc(32, 2))).toBe(true);
  });

  it.each([
    [{ NODE_ENV: 'production', SECRETS_KEY: key }, /NODE_ENV=production needs authentication/],
    [{ NODE_ENV: 'production', AUTH_JWT_SECRET: 's'.repeat(32) }, /NODE_ENV=production needs SECRETS_KEY/],
    [{ AUTH_JWT_SECRET: 'short' }, /at least 32 bytes/],
    [{ AUTH_JWT_SECRET: 's'.repeat(32), AUTH_JWKS_URL: 'https://sso/certs' }, /not both/],
    [{ AUTH_JWKS_URL: 'file:///etc/keys' }, /http\(s\) URL/],
    [{ SECRETS_KEY: 'not-base64!' }, /SECRETS_KEY must be 32 bytes/],
    [{ SECRETS_KEY: Buffer.alloc(16).toString('base64') }, /SECRETS_KEY must be 32 bytes/],
    [{ SECRETS_KEY_PREVIOUS: 'short' }, /SECRETS_KEY_PREVIOUS must be 32 bytes/],
    [{ AUTH_CLOCK_TOLERANCE_SECONDS: '-1' }, /AUTH_CLOCK_TOLERANCE_SECONDS/],
  ])('refuses %p with a clear message', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never repeats a secret setting in its message', () => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'hunter2-short' })).toThrow(/^(?!.*hunter2)/);
    expect(() => loadConfig({ SECRETS_KEY: 'hunter2hunter2' })).toThrow(/^(?!.*hunter2)/);
  });
});

describe('loadConfig: production is any NODE_ENV but development and test', () => {
  it.each(['production', 'Production', ' PRODUCTION ', 'prod', 'staging'])('NODE_ENV=%p refuses to start without authentication', (nodeEnv) => {
    expect(() => loadConfig({ NODE_ENV: nodeEnv })).toThrow(/needs authentication/);
  });

  it.each([undefined, 'development', 'Development', 'dev', 'test'])('NODE_ENV=%p allows dev mode', (nodeEnv) => {
    expect(loadConfig({ NODE_ENV: nodeEnv })).toMatchObject({ production: false, auth: { devMode: true } });
  });

  it('listens on loopback only in dev mode, unless HOST says otherwise; on every address otherwise', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ AUTH_JWT_SECRET: 's'.repeat(32) }).host).toBe('0.0.0.0');
  });
});

describe('loadConfig: operations', () => {
  const production = { NODE_ENV: 'production', AUTH_JWT_SECRET: 's'.repeat(32), SECRETS_KEY: Buffer.alloc(32, 1).toString('base64') };

  it('defaults to info logs, a 10 s shutdown and GraphiQL on, but off in production unless asked', () => {
    expect(loadConfig({})).toMatchObject({ logLevel: 'info', shutdownTimeoutMs: 10_000, graphiql: true });
    expect(loadConfig(production).graphiql).toBe(false);
    expect(loadConfig({ ...production, GRAPHIQL: 'true' }).graphiql).toBe(true);
  });

  it('reads LOG_LEVEL and SHUTDOWN_TIMEOUT_MS', () => {
    expect(loadConfig({ LOG_LEVEL: 'DEBUG', SHUTDOWN_TIMEOUT_MS: '2500' })).toMatchObject({ logLevel: 'debug', shutdownTimeoutMs: 2500 });
  });

  it.each([
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ SHUTDOWN_TIMEOUT_MS: '-5' }, /SHUTDOWN_TIMEOUT_MS/],
    [{ GRAPHIQL: 'perhaps' }, /GRAPHIQL/],
  ])('refuses %p', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
