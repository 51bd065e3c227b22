import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { createDataSource, sqlLogger } from '../../src/db/data-source';
import { createServer, RunningServer } from '../../src/server';
import { createTestDatabase, TestDatabase } from './test-database';
import { createTokenVerifier } from '../../src/auth/token-verifier';
import { mintToken, TokenClaims } from '../../src/auth/tokens';
import { AuthConfig, loadConfig } from '../../src/config';
import { resolveKeys } from '../../src/keys';
import { createLogger } from '../../src/observability/logger';
import { PasswordCipher } from '../../src/pull-secrets/password-cipher';

/** A fixed 32-byte key in base64, for tests only. */
export const TEST_SECRETS_KEY = Buffer.alloc(32, 7).toString('base64');

export interface GraphQLErrorShape {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; fields?: { field: string; message: string }[]; [key: string]: unknown };
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: GraphQLErrorShape[];
  /** The raw response body, for asserting that something never appears in it. */
  text: string;
}

/** Sends operations as one caller (a token, or none). */
export interface Client {
  request<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Runs an operation that must succeed and returns its data. */
  ok<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Runs an operation that must fail and returns its first error. */
  fails(query: string, variables?: Record<string, unknown>): Promise<GraphQLErrorShape>;
}

/** The app's own methods act as an admin (sub "test-admin"). */
export interface TestApp extends Client {
  url: string;
  /** DATABASE_URL of this app's database, for starting other processes on it. */
  databaseUrl: string;
  dataSource: DataSource;
  auth: AuthConfig;
  /** What the server logged at level error (masked errors' details). */
  serverErrors: string[];
  /** Every JSON log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  server: RunningServer;
  /** A client sending `token` (a string), or no Authorization header at all (null). */
  as(token: string | null): Client;
  /** A client with a freshly minted token for these claims. */
  caller(claims: TokenClaims): Promise<Client>;
  mint(claims: TokenClaims): Promise<string>;
  /**
   * Another server over this app's database, with these settings over the app's own (an execution
   * engine, say); the same signing secret, so `mint` tokens work on both. Stopped by `close`.
   */
  sibling(env: Record<string, string>): Promise<{ url: string; as(token: string | null): Client }>;
  /** SQL statements the request issued. */
  countStatements(run: () => Promise<unknown>): Promise<{ count: number; statements: string[] }>;
  rowCount(table: string, where?: string, params?: unknown[]): Promise<number>;
  close(): Promise<void>;
}

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long';

export interface TestAppOptions {
  logSql?: boolean;
  /** Settings as the environment would give them (AUTH_*), on top of an HS256 test secret. */
  env?: Record<string, string>;
  /** Prefill GraphiQL with a fresh admin token, as dev mode does. */
  graphiqlDevToken?: boolean;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
}

/** The real service over HTTP on a random port, on a fresh database of the configured kind. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database: TestDatabase = await createTestDatabase();
  const serverErrors: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('info', {
    write: (line: string) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.level === 'error') serverErrors.push(String(entry.msg));
    },
  });
  const dataSource = createDataSource(database.config, { poolSize: 5, logSql: options.logSql, log: logger });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  // CI runs the whole suite once more with GRAPHQL_EXECUTION=graphql-js, the fallback engine.
  const engine = process.env.GRAPHQL_EXECUTION ? { GRAPHQL_EXECUTION: process.env.GRAPHQL_EXECUTION } : {};
  // Registry checks would reach for Docker Hub: only the tests that run their own registry turn them on.
  const settings = { AUTH_JWT_SECRET: TEST_JWT_SECRET, SECRETS_KEY: TEST_SECRETS_KEY, REGISTRY_CHECKS: 'off', ...engine, ...options.env };
  const config = loadConfig(settings);
  const keys = resolveKeys(config);
  const mint = (claims: TokenClaims) => mintToken(new TextEncoder().encode(TEST_JWT_SECRET), config.auth, claims);
  const serve = (serverConfig: typeof config) =>
    createServer({ port: 0, host: options.host ?? '127.0.0.1', graphiql: serverConfig.graphiql, graphql: serverConfig.graphql, registry: serverConfig.registry }, dataSource, {
      verify: createTokenVerifier(serverConfig.auth, keys.signingSecret, logger),
      cipher: new PasswordCipher(keys.secretsKey, keys.previousSecretsKey),
      logger,
      devToken: options.graphiqlDevToken ? () => mint({ sub: 'graphiql-admin', admin: true }) : undefined,
    });
  const server: RunningServer = await serve(config);
  const siblings: RunningServer[] = [];
  const as = (token: string | null) => clientFor(server.url, token);
  const admin = as(await mint({ sub: 'test-admin', admin: true }));

  return {
    ...admin,
    url: server.url,
    databaseUrl: database.url,
    dataSource,
    auth: config.auth,
    serverErrors,
    logs,
    server,
    as,
    mint,
    caller: async (claims) => as(await mint(claims)),
    sibling: async (env) => {
      const sibling = await serve(loadConfig({ ...settings, ...env }));
      siblings.push(sibling);
      return { url: sibling.url, as: (token) => clientFor(sibling.url, token) };
    },
    countStatements: async (run) => {
      const logger = sqlLogger(dataSource);
      logger.recorded = [];
      const before = logger.queryCount;
      try {
        await run();
        return { count: logger.queryCount - before, statements: logger.recorded };
      } finally {
        logger.recorded = undefined;
      }
    },
    rowCount: async (table, where = '1 = 1', params = []) => {
      const rows: { n: number | string }[] = await dataSource.query(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, params);
      return Number(rows[0].n);
    },
    close: async () => {
      await Promise.all(siblings.map((sibling) => sibling.stop()));
      await server.stop();
      await dataSource.destroy();
      await database.drop();
    },
  };
}

function clientFor(url: string, token: string | null): Client {
  const request = async <T>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const text = await response.text();
    const body = JSON.parse(text) as { data?: T; errors?: GraphQLErrorShape[] };
    return { status: response.status, data: body.data, errors: body.errors, text };
  };
  return {
    request,
    ok: async <T>(query: string, variables?: Record<string, unknown>) => {
      const response = await request<T>(query, variables);
      if (response.errors?.length) throw new Error(`expected success, got ${JSON.stringify(response.errors, null, 2)}`);
      return response.data as T;
    },
    fails: async (query, variables) => {
      const response = await request(query, variables);
      if (!response.errors?.length) throw new Error(`expected an error, got ${JSON.stringify(response.data)}`);
      return response.errors[0];
    },
  };
}
