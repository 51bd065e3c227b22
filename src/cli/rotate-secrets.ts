import 'reflect-metadata';
import { ConfigError, loadConfig } from '../config';
import { createDataSource } from '../db/data-source';
import { resolveKeys } from '../keys';
import { PasswordCipher } from '../pull-secrets/password-cipher';
import { ResealError, resealPasswords } from '../pull-secrets/password-rotation';

// npm run secrets:rotate: with SECRETS_KEY (the new key) and SECRETS_KEY_PREVIOUS (the old one),
// seals every stored registry password under the new key.
async function main(): Promise<void> {
  const config = loadConfig();
  const keys = resolveKeys(config);
  if (!keys.previousSecretsKey) console.log('secrets:rotate: SECRETS_KEY_PREVIOUS is not set; only passwords stored in clear are sealed');
  const dataSource = createDataSource(config.database, { poolSize: 1 });
  await dataSource.initialize();
  try {
    const report = await resealPasswords(dataSource, new PasswordCipher(keys.secretsKey, keys.previousSecretsKey));
    console.log(`secrets:rotate: ${report.resealed} password(s) sealed under the current key, ${report.unchanged} already were`);
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof ResealError;
  console.error(known ? `secrets:rotate: ${(error as Error).message}` : error);
  process.exit(1);
});
