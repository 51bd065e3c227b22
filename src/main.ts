import 'reflect-metadata';
import { createTokenVerifier } from './auth/token-verifier';
import { mintToken } from './auth/tokens';
import { ConfigError, loadConfig } from './config';
import { createDataSource } from './db/data-source';
import { runPendingMigrations } from './db/migrate';
import { resolveKeys } from './keys';
import { createLogger } from './observability/logger';
import { PasswordCipher } from './pull-secrets/password-cipher';
import { resealPasswords } from './pull-secrets/password-rotation';
import { createServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const keys = resolveKeys(config);
  const logger = createLogger(config.logLevel);
  const dataSource = createDataSource(config.database, { poolSize: config.dbPoolSize, logSql: config.logSql, log: logger });
  await dataSource.initialize();
  if (config.migrateOnStart) await runPendingMigrations(dataSource);
  const cipher = new PasswordCipher(keys.secretsKey, keys.previousSecretsKey);
  const { resealed } = await resealPasswords(dataSource, cipher, { clearOnly: true });
  if (resealed > 0) logger.info({ resealed }, 'sealed registry passwords that an earlier version stored in clear');
  const signingSecret = keys.signingSecret;
  const devToken = config.auth.devMode && signingSecret ? () => mintToken(signingSecret, config.auth, { sub: 'dev-admin', admin: true }) : undefined;
  const server = await createServer(config, dataSource, { verify: createTokenVerifier(config.auth, signingSecret), cipher, devToken, logger });
  logger.info({ url: server.url, database: config.databaseLabel, graphiql: config.graphiql, devMode: config.auth.devMode }, `GraphQL at ${server.url} (ready)`);
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
    await dataSource.destroy();
    logger.info('stopped');
    logger.flush(() => process.exit(0));
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `image-catalog: ${error.message}` : error);
  process.exit(1);
});
