import 'reflect-metadata';
import { createTokenVerifier } from './auth/token-verifier';
import { mintToken } from './auth/tokens';
import { TimeoutError, withTimeout } from './common/with-timeout';
import { ConfigError, loadConfig } from './config';
import { createDataSource } from './db/data-source';
import { pendingMigrations, runPendingMigrations } from './db/migrate';
import { resolveKeys } from './keys';
import { createLogger } from './observability/logger';
import { PasswordCipher } from './pull-secrets/password-cipher';
import { sealPasswordsAtStart } from './pull-secrets/password-rotation';
import { createServer } from './server';

const POOL_CLOSE_TIMEOUT_MS = 1_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const keys = resolveKeys(config);
  const logger = createLogger(config.logLevel);
  const dataSource = createDataSource(config.database, { poolSize: config.dbPoolSize, logSql: config.logSql, log: logger });
  await dataSource.initialize();
  if (config.migrateOnStart) await runPendingMigrations(dataSource);
  const cipher = new PasswordCipher(keys.secretsKey, keys.previousSecretsKey);
  const pending = await pendingMigrations(dataSource);
  if (pending.length > 0) {
    // Serve anyway: /readyz says 503 until a deploy job has run them, and says why.
    logger.warn({ pending }, 'migrations are pending (MIGRATE_ON_START=false): run `npm run migrate`; /readyz answers 503 until then');
  } else {
    await sealPasswordsAtStart(dataSource, cipher, logger);
  }
  const signingSecret = keys.signingSecret;
  const devToken = config.auth.devMode && signingSecret ? () => mintToken(signingSecret, config.auth, { sub: 'dev-admin', admin: true }) : undefined;
  const server = await createServer(config, dataSource, { verify: createTokenVerifier(config.auth, signingSecret, logger), cipher, devToken, logger });
  const state = pending.length > 0 ? 'not ready: migrations pending' : 'ready';
  logger.info({ url: server.url, database: config.databaseLabel, graphiql: config.graphiql, devMode: config.auth.devMode }, `GraphQL at ${server.url} (${state})`);
  if (devToken) {
    // Deliberately on stdout as plain text, not a log line: dev mode's one ready-made admin token.
    console.log('image-catalog: DEV MODE (no AUTH_JWT_SECRET or AUTH_JWKS_URL): tokens are signed with a secret kept in');
    console.log(`image-catalog: ${config.dataDir}; never run like this in production. Admin token, valid 12 hours:`);
    console.log(`Authorization: Bearer ${await devToken()}`);
  }

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: finishing requests in flight');
    // Should the drain itself hang, still leave, but say so with a failing exit code.
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 5_000).unref();
    await server.stop();
    // A request cut off by the timeout may still hold a connection in a query the database has
    // not finished; the pool would wait for it forever.
    const closed = await withTimeout(dataSource.destroy(), POOL_CLOSE_TIMEOUT_MS).then(
      () => 'closed' as const,
      (error: unknown) => (error instanceof TimeoutError ? ('timeout' as const) : ('failed' as const)),
    );
    if (closed === 'timeout') logger.warn({ waitedMs: POOL_CLOSE_TIMEOUT_MS }, 'database connections were still busy after the shutdown timeout; leaving them');
    if (closed === 'failed') logger.warn('closing the database connections failed');
    logger.info('stopped');
    logger.flush(() => process.exit(closed === 'closed' ? 0 : 1));
  };
  // Kept for the whole shutdown: Ctrl-C under npm delivers SIGINT twice (the terminal's, and
  // npm's forwarded copy), and a removed handler would let the second one kill the process.
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `image-catalog: ${error.message}` : error);
  process.exit(1);
});
