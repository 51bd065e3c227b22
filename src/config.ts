import { EXECUTION_ENGINES, ExecutionEngine } from './graphql/jit-executor';
import { DEFAULT_QUERY_LIMITS, LIMIT_SETTINGS, LimitName, QueryLimits } from './graphql/query-limits';
import { readFileSync } from 'node:fs';
import { LOG_LEVELS, LogLevel } from './observability/logger';
import { isRegistryHost } from './common/rules';
import type { DatabaseHost, HostSelection } from './db/host-pool';

/** Every setting of the service, read from the environment once and checked. The README lists the same. */
export type DatabaseConfig =
  | { kind: 'sqlite'; path: string }
  | {
      kind: 'mysql';
      flavor: 'mysql' | 'mariadb';
      /** The first of `hosts`, for tools that talk to one server. */
      host: string;
      port: number;
      /** Every host the URL names (a Galera cluster's nodes), in its order. */
      hosts: DatabaseHost[];
      hostSelection: HostSelection;
      /** Applied on Galera nodes only: 1 (the default) makes every read see the writes committed before it. */
      wsrepSyncWait: number;
      username: string;
      password: string;
      database: string;
    };

export interface Config {
  /** Any NODE_ENV but development, dev and test: keys and authentication must be given, never made. */
  production: boolean;
  port: number;
  host: string;
  database: DatabaseConfig;
  /** The original DATABASE_URL with any password masked, for log lines. */
  databaseLabel: string;
  migrateOnStart: boolean;
  dbPoolSize: number;
  /** Logs each SQL statement's text (never its parameters). */
  logSql: boolean;
  logLevel: LogLevel;
  /** How long a shutdown waits for requests in flight before closing their connections. */
  shutdownTimeoutMs: number;
  /** Serve GraphiQL at GET /graphql to browsers (default on, off in production). */
  graphiql: boolean;
  /** Where dev mode keeps its generated signing secret and secrets key. */
  dataDir: string;
  auth: AuthConfig;
  secrets: SecretsConfig;
  graphql: GraphQLConfig;
  registry: RegistryConfig;
}

/** Registry checks: whether each image can be pulled with its credentials (see src/registry/). */
export interface RegistryConfig {
  /** REGISTRY_CHECKS: off for air-gapped sites; images then stay UNCHECKED. */
  checks: boolean;
  /** Where references without a registry live; Docker Hub (`docker.io`) by default. */
  defaultHost: string;
  /** How old a result may get before the background recheck takes the image again; 0 turns rechecks off. */
  recheckIntervalMs: number;
  /** The most images one recheck round takes. */
  recheckBatch: number;
  /** The most image checks running at once. */
  concurrency: number;
  /** Deadline of each request to a registry or token service. */
  timeoutMs: number;
  /** PEM certificates of REGISTRY_CA_FILE, trusted beside the system's roots. */
  extraCa?: string;
  /** Hosts spoken to over plain HTTP (REGISTRY_PLAIN_HTTP_HOSTS), lower case. */
  plainHttpHosts: Set<string>;
}

export interface GraphQLConfig {
  /** Checked before an operation runs; GRAPHQL_MAX_DEPTH, _ALIASES, _DIRECTIVES, _TOKENS, _COST. */
  limits: QueryLimits;
  /** Answer introspection queries (default on, off in production). */
  introspection: boolean;
  /** Accept a JSON array of operations in one HTTP request (default off). */
  batching: boolean;
  /** With batching on, the most operations one request may hold (each is checked against the limits). */
  maxBatch: number;
  /** Larger request bodies get 413 before they are parsed. */
  maxBodyBytes: number;
  /** Drop "Did you mean ...?" hints for callers who are not admins: always in production. */
  hideFieldSuggestions: boolean;
  /** GRAPHQL_EXECUTION: compiled by graphql-jit (default), or graphql-js's interpreter as a fallback. */
  execution: ExecutionEngine;
}

export interface AuthConfig {
  /** HS256 shared secret; exclusive with jwksUrl. */
  jwtSecret?: string;
  /** The issuer's JWKS document; exclusive with jwtSecret. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Dotted claim path of the roles list, e.g. `realm_access.roles` for Keycloak. */
  rolesClaim: string;
  adminRole: string;
  groupsClaim: string;
  /** Claim listing the groups whose images the caller manages (a group admin is also a member). */
  groupAdminClaim: string;
  secretReaderRole: string;
  clockToleranceSeconds: number;
  /** Neither jwtSecret nor jwksUrl, outside production: a generated secret in dataDir signs tokens. */
  devMode: boolean;
}

export interface SecretsConfig {
  /** AES-256 key for registry passwords; in dev mode generated into dataDir when absent. */
  key?: Buffer;
  /** The key being rotated away from (read-only: decrypts, never encrypts). */
  previousKey?: Buffer;
}

export const DEFAULT_DATABASE_URL = 'sqlite:./data/image-catalog.sqlite';

/**
 * The NODE_ENV values that allow dev mode. Every other one (production, prod, staging, a typo)
 * counts as production: a misspelt setting must not open the catalog to anyone with a browser.
 */
const DEVELOPMENT_ENVIRONMENTS = ['development', 'dev', 'test'];

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const dataDir = nonBlank(env.DATA_DIR);
  const databaseUrl = nonBlank(env.DATABASE_URL) ?? (dataDir ? `sqlite:${dataDir.replace(/\/+$/, '')}/image-catalog.sqlite` : DEFAULT_DATABASE_URL);
  const nodeEnv = nonBlank(env.NODE_ENV)?.toLowerCase() ?? 'development';
  const production = !DEVELOPMENT_ENVIRONMENTS.includes(nodeEnv);
  const auth = parseAuth(env, production);
  return {
    production,
    port: parseIntSetting(env, 'PORT', 4000, 0, 65535),
    // Dev mode hands an admin token to whoever opens GraphiQL: by default only this machine can.
    host: nonBlank(env.HOST) ?? (auth.devMode ? '127.0.0.1' : '0.0.0.0'),
    database: parseDatabaseUrl(databaseUrl),
    databaseLabel: maskPassword(databaseUrl),
    migrateOnStart: parseBoolSetting(env, 'MIGRATE_ON_START', true),
    dbPoolSize: parseIntSetting(env, 'DB_POOL_SIZE', 10, 1, 1000),
    logSql: parseBoolSetting(env, 'LOG_SQL', false),
    dataDir: dataDir ?? './data',
    graphiql: parseBoolSetting(env, 'GRAPHIQL', !production),
    logLevel: parseLogLevel(env),
    shutdownTimeoutMs: parseIntSetting(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    auth,
    secrets: parseSecrets(env, production),
    graphql: parseGraphQL(env, production),
    registry: parseRegistry(env),
  };
}

export const DEFAULT_REGISTRY_HOST = 'docker.io';

function parseRegistry(env: Env): RegistryConfig {
  const defaultHost = nonBlank(env.REGISTRY_DEFAULT_HOST)?.toLowerCase() ?? DEFAULT_REGISTRY_HOST;
  if (!isRegistryHost(defaultHost)) throw new ConfigError(`REGISTRY_DEFAULT_HOST must be a host name or address with an optional port, got "${defaultHost}"`);
  const plainHttpHosts = new Set((nonBlank(env.REGISTRY_PLAIN_HTTP_HOSTS) ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
  for (const host of plainHttpHosts) {
    if (!isRegistryHost(host)) throw new ConfigError(`REGISTRY_PLAIN_HTTP_HOSTS must list hosts with optional ports, separated by commas; "${host}" is not one`);
  }
  const caFile = nonBlank(env.REGISTRY_CA_FILE);
  let extraCa: string | undefined;
  if (caFile) {
    try {
      extraCa = readFileSync(caFile, 'utf8');
    } catch {
      throw new ConfigError(`REGISTRY_CA_FILE: cannot read ${caFile}`);
    }
    if (!extraCa.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`REGISTRY_CA_FILE: ${caFile} holds no PEM certificate`);
  }
  return {
    checks: parseBoolSetting(env, 'REGISTRY_CHECKS', true),
    defaultHost,
    recheckIntervalMs: parseDuration(env, 'REGISTRY_RECHECK_INTERVAL', 6 * 3_600_000),
    recheckBatch: parseIntSetting(env, 'REGISTRY_RECHECK_BATCH', 20, 1, 10_000),
    concurrency: parseIntSetting(env, 'REGISTRY_CHECK_CONCURRENCY', 4, 1, 100),
    timeoutMs: parseIntSetting(env, 'REGISTRY_TIMEOUT_MS', 10_000, 100, 300_000),
    extraCa,
    plainHttpHosts,
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `6h`, `30m`, `90s`, `500ms`, `1d`, or a number of seconds; 0 means off. */
function parseDuration(env: Env, name: string, fallback: number): number {
  const raw = nonBlank(env[name])?.toLowerCase();
  if (raw === undefined) return fallback;
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw);
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2] ?? 's'] : NaN;
  if (!Number.isSafeInteger(ms) || ms > 30 * DURATION_UNITS.d) {
    throw new ConfigError(`${name} must be a duration such as 6h, 30m, 90s or 500ms (at most 30d; 0 turns it off), got "${raw}"`);
  }
  return ms;
}

function parseGraphQL(env: Env, production: boolean): GraphQLConfig {
  const limits = { ...DEFAULT_QUERY_LIMITS };
  for (const limit of Object.keys(LIMIT_SETTINGS) as LimitName[]) {
    limits[limit] = parseIntSetting(env, LIMIT_SETTINGS[limit], DEFAULT_QUERY_LIMITS[limit], 1, Number.MAX_SAFE_INTEGER);
  }
  return {
    limits,
    introspection: parseBoolSetting(env, 'GRAPHQL_INTROSPECTION', !production),
    batching: parseBoolSetting(env, 'GRAPHQL_BATCHING', false),
    maxBatch: parseIntSetting(env, 'GRAPHQL_MAX_BATCH', 10, 1, 1000),
    maxBodyBytes: parseIntSetting(env, 'GRAPHQL_MAX_BODY_BYTES', 1_048_576, 1_024, 1_073_741_824),
    hideFieldSuggestions: production,
    execution: parseExecutionEngine(env),
  };
}

function parseExecutionEngine(env: Env): ExecutionEngine {
  const raw = nonBlank(env.GRAPHQL_EXECUTION)?.toLowerCase() ?? 'jit';
  if (!(EXECUTION_ENGINES as readonly string[]).includes(raw)) {
    throw new ConfigError(`GRAPHQL_EXECUTION must be one of ${EXECUTION_ENGINES.join(', ')}, got "${raw}"`);
  }
  return raw as ExecutionEngine;
}

function parseLogLevel(env: Env): LogLevel {
  const raw = nonBlank(env.LOG_LEVEL)?.toLowerCase() ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return raw as LogLevel;
}

const MIN_HS256_SECRET_BYTES = 32;

function parseAuth(env: Env, production: boolean): AuthConfig {
  const jwtSecret = env.AUTH_JWT_SECRET?.trim() || undefined;
  const jwksUrl = nonBlank(env.AUTH_JWKS_URL);
  if (jwtSecret && jwksUrl) throw new ConfigError('Set AUTH_JWT_SECRET or AUTH_JWKS_URL, not both');
  if (jwtSecret && Buffer.byteLength(jwtSecret) < MIN_HS256_SECRET_BYTES) {
    throw new ConfigError(`AUTH_JWT_SECRET must be at least ${MIN_HS256_SECRET_BYTES} bytes long (HS256 needs a 256-bit secret)`);
  }
  if (jwksUrl && !/^https?:\/\/[^/]/.test(jwksUrl)) throw new ConfigError('AUTH_JWKS_URL must be an http(s) URL');
  const devMode = !jwtSecret && !jwksUrl;
  if (devMode && production) {
    throw new ConfigError(
      'NODE_ENV=production needs authentication: set AUTH_JWT_SECRET (HS256 shared secret) or AUTH_JWKS_URL (your identity provider\'s JWKS). ' +
        'Every NODE_ENV other than development or test counts as production.',
    );
  }
  return {
    jwtSecret,
    jwksUrl,
    issuer: nonBlank(env.AUTH_ISSUER),
    audience: nonBlank(env.AUTH_AUDIENCE),
    rolesClaim: nonBlank(env.AUTH_ROLES_CLAIM) ?? 'roles',
    adminRole: nonBlank(env.AUTH_ADMIN_ROLE) ?? 'admin',
    groupsClaim: nonBlank(env.AUTH_GROUPS_CLAIM) ?? 'groups',
    groupAdminClaim: nonBlank(env.AUTH_GROUP_ADMIN_CLAIM) ?? 'groupAdmin',
    secretReaderRole: nonBlank(env.AUTH_SECRET_READER_ROLE) ?? 'secret-reader',
    clockToleranceSeconds: parseIntSetting(env, 'AUTH_CLOCK_TOLERANCE_SECONDS', 30, 0, 300),
    devMode,
  };
}

function parseSecrets(env: Env, production: boolean): SecretsConfig {
  const key = parseKey(env, 'SECRETS_KEY');
  if (!key && production) {
    throw new ConfigError('NODE_ENV=production needs SECRETS_KEY: 32 random bytes in base64, e.g. from `openssl rand -base64 32`');
  }
  return { key, previousKey: parseKey(env, 'SECRETS_KEY_PREVIOUS') };
}

/** A 32-byte AES key in base64; the message never repeats the value. */
export function parseKey(env: Env, name: string): Buffer | undefined {
  const raw = nonBlank(env[name]);
  if (raw === undefined) return undefined;
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw) ? Buffer.from(raw, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) throw new ConfigError(`${name} must be 32 bytes in base64 (44 characters, e.g. from \`openssl rand -base64 32\`)`);
  return key;
}

export function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new ConfigError('DATABASE_URL: sqlite:<path> needs a file path, for example sqlite:./data/image-catalog.sqlite');
    return { kind: 'sqlite', path };
  }
  const usage = `DATABASE_URL must be sqlite:<path> or mysql://user:pass@host:port[,host:port...]/db, got ${maskPassword(url)}`;
  // WHATWG URLs hold one host: a list of them is read here and a placeholder parsed in its place.
  // The user info ends at the last "@" before the path, so an "@" in the query cannot move it.
  const authority = /^([a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?)([^/?#@]*)/i.exec(url);
  let parsed: URL;
  try {
    parsed = new URL(authority && authority[2].includes(',') ? `${authority[1]}multi-host.invalid${url.slice(authority[0].length)}` : url);
  } catch {
    throw new ConfigError(usage);
  }
  const flavor = parsed.protocol === 'mysql:' ? 'mysql' : parsed.protocol === 'mariadb:' ? 'mariadb' : undefined;
  if (!flavor) throw new ConfigError(`DATABASE_URL: unsupported scheme "${parsed.protocol}"; use sqlite: or mysql:// (mariadb:// also works)`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError('DATABASE_URL: name the database, as in mysql://user:pass@host:3306/image_catalog');
  const hosts =
    parsed.hostname === 'multi-host.invalid' && authority
      ? authority[2].split(',').map((entry) => parseHost(entry, usage))
      : [{ host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: parsed.port ? Number(parsed.port) : 3306 }];
  if (hosts.some(({ host }) => host.includes(','))) throw new ConfigError(usage);
  const selection = parsed.searchParams.get('hostSelection') ?? 'sequential';
  if (selection !== 'sequential' && selection !== 'round-robin') throw new ConfigError('DATABASE_URL: hostSelection must be sequential or round-robin');
  const syncWait = parsed.searchParams.get('wsrepSyncWait') ?? '1';
  if (!/^\d{1,2}$/.test(syncWait) || Number(syncWait) > 15) throw new ConfigError('DATABASE_URL: wsrepSyncWait must be a number from 0 to 15 (a bit mask; 1 checks reads)');
  return {
    kind: 'mysql',
    flavor,
    host: hosts[0].host,
    port: hosts[0].port,
    hosts,
    hostSelection: selection,
    wsrepSyncWait: Number(syncWait),
    username: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

/** host, host:port or [v6]:port, one entry of a host list. */
function parseHost(entry: string, usage: string): DatabaseHost {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/i.exec(entry.trim());
  const port = match?.[2] ? Number(match[2]) : 3306;
  if (!match || port < 1 || port > 65535) throw new ConfigError(usage);
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

/** Everything between "user:" and the last "@" goes, even a password holding a raw "@" or "/". */
function maskPassword(url: string): string {
  return url.replace(/\/\/([^:/@]*):.*@/, '//$1:***@');
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
