/** Every setting of the service, read from the environment once and checked. The README lists the same. */
export type DatabaseConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'mysql'; flavor: 'mysql' | 'mariadb'; host: string; port: number; username: string; password: string; database: string };

export interface Config {
  nodeEnv: string;
  port: number;
  host: string;
  database: DatabaseConfig;
  /** The original DATABASE_URL with any password masked, for log lines. */
  databaseLabel: string;
  migrateOnStart: boolean;
  dbPoolSize: number;
  /** Logs each SQL statement's text (never its parameters). */
  logSql: boolean;
}

export const DEFAULT_DATABASE_URL = 'sqlite:./data/image-catalog.sqlite';

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = nonBlank(env.DATABASE_URL) ?? DEFAULT_DATABASE_URL;
  return {
    nodeEnv: nonBlank(env.NODE_ENV) ?? 'development',
    port: parseIntSetting(env, 'PORT', 4000, 0, 65535),
    host: nonBlank(env.HOST) ?? '0.0.0.0',
    database: parseDatabaseUrl(databaseUrl),
    databaseLabel: maskPassword(databaseUrl),
    migrateOnStart: parseBoolSetting(env, 'MIGRATE_ON_START', true),
    dbPoolSize: parseIntSetting(env, 'DB_POOL_SIZE', 10, 1, 1000),
    logSql: parseBoolSetting(env, 'LOG_SQL', false),
  };
}

export function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new ConfigError('DATABASE_URL: sqlite:<path> needs a file path, for example sqlite:./data/image-catalog.sqlite');
    return { kind: 'sqlite', path };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`DATABASE_URL must be sqlite:<path> or mysql://user:pass@host:port/db, got ${maskPassword(url)}`);
  }
  const flavor = parsed.protocol === 'mysql:' ? 'mysql' : parsed.protocol === 'mariadb:' ? 'mariadb' : undefined;
  if (!flavor) throw new ConfigError(`DATABASE_URL: unsupported scheme "${parsed.protocol}"; use sqlite: or mysql:// (mariadb:// also works)`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError('DATABASE_URL: name the database, as in mysql://user:pass@host:3306/image_catalog');
  return {
    kind: 'mysql',
    flavor,
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    username: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

function maskPassword(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

function nonBlank(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function parseIntSetting(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonBlank(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function parseBoolSetting(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonBlank(env[name])?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}
