import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Config, ConfigError } from './config';

export interface Keys {
  /** HS256 secret for tokens: AUTH_JWT_SECRET, dev mode's generated one, or none with a JWKS URL. */
  signingSecret?: Uint8Array;
  /** Seals registry passwords at rest. */
  secretsKey: Buffer;
  previousSecretsKey?: Buffer;
}

export const DEV_SIGNING_SECRET_FILE = 'dev-jwt-secret';
export const DEV_SECRETS_KEY_FILE = 'secrets.key';

/**
 * The keys the service runs with. Outside production, what the settings leave out is generated
 * once into the data directory (owner-only) and reused, so tokens and sealed passwords survive a
 * restart. loadConfig has already refused production without them.
 */
export function resolveKeys(config: Pick<Config, 'auth' | 'secrets' | 'dataDir' | 'production'>): Keys {
  const signingSecret = config.auth.jwtSecret
    ? new TextEncoder().encode(config.auth.jwtSecret)
    : config.auth.devMode
      ? keptKey(config, DEV_SIGNING_SECRET_FILE)
      : undefined;
  const secretsKey = config.secrets.key ?? keptKey(config, DEV_SECRETS_KEY_FILE);
  return { signingSecret, secretsKey, previousSecretsKey: config.secrets.previousKey };
}

function keptKey(config: Pick<Config, 'dataDir' | 'production'>, file: string): Buffer {
  if (config.production) throw new ConfigError(`NODE_ENV=production never generates keys (${file}); set them explicitly`);
  const path = join(config.dataDir, file);
  if (!existsSync(path)) {
    mkdirSync(config.dataDir, { recursive: true });
    try {
      writeFileSync(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(path, 0o600);
    } catch (error) {
      // Another process (npm run token, a second instance) made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new ConfigError(`${path} does not hold a 32-byte base64 key; delete it to have a new one made`);
  return key;
}
