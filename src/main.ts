import 'reflect-metadata';
import { createTokenVerifier } from './auth/token-verifier';
import { mintToken } from './auth/tokens';
import { ConfigError, loadConfig } from './config';
import { createDataSource } from './db/data-source';
import { resolveKeys } from './keys';
import { PasswordCipher } from './pull-secrets/password-cipher';
import { resealPasswords } from './pull-secrets/password-rotation';
import { createServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const keys = resolveKeys(config);
  const dataSource = createDataSource(config.database, { poolSize: config.dbPoolSize, logSql: config.logSql });
  await dataSource.initialize();
  if (config.migrateOnStart) await dataSource.runMigrations({ transaction: 'each' });
  const cipher = new PasswordCipher(keys.secretsKey, keys.previousSecretsKey);
  const { resealed } = await resealPasswords(dataSource, cipher, { clearOnly: true });
  if (resealed > 0) console.log(`image-catalog: sealed ${resealed} registry password(s) that an earlier version stored in clear`);
  const signingSecret = keys.signingSecret;
  const devToken = config.auth.devMode && signingSecret ? () => mintToken(signingSecret, config.auth, { sub: 'dev-admin', admin: true }) : undefined;
  const server = await createServer(config, dataSource, { verify: createTokenVerifier(config.auth, signingSecret), cipher, devToken });
  console.log(`image-catalog: GraphQL at ${server.url} (database ${config.databaseLabel})`);
  if (config.graphiql) console.log(`image-catalog: GraphiQL at ${server.url} (open it in a browser)`);
  if (devToken) {
    const token = await devToken();
    console.log('image-catalog: DEV MODE (no AUTH_JWT_SECRET or AUTH_JWKS_URL): tokens are signed with a secret kept in');
    console.log(`image-catalog: ${config.dataDir}; never run like this in production. Admin token, valid 12 hours:`);
    console.log(`Authorization: Bearer ${token}`);
  }

  const shutdown = async (): Promise<void> => {
    await server.stop();
    await dataSource.destroy();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `image-catalog: ${error.message}` : error);
  process.exit(1);
});
