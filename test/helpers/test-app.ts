import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { createDataSource, sqlLogger } from '../../src/db/data-source';
import { createServer, RunningServer } from '../../src/server';
import { createTestDatabase, TestDatabase } from './test-database';

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

export interface TestApp {
  url: string;
  dataSource: DataSource;
  /** What the server logged through the error formatter (masked errors' details). */
  serverErrors: string[];
  request<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Runs an operation that must succeed and returns its data. */
  ok<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Runs an operation that must fail and returns its first error. */
  fails(query: string, variables?: Record<string, unknown>): Promise<GraphQLErrorShape>;
  /** SQL statements the request issued. */
  countStatements(run: () => Promise<unknown>): Promise<{ count: number; statements: string[] }>;
  rowCount(table: string, where?: string, params?: unknown[]): Promise<number>;
  close(): Promise<void>;
}

/** The real service over HTTP on a random port, on a fresh database of the configured kind. */
export async function startTestApp(options: { logSql?: boolean } = {}): Promise<TestApp> {
  const database: TestDatabase = await createTestDatabase();
  const dataSource = createDataSource(database.config, { poolSize: 5, logSql: options.logSql });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  const serverErrors: string[] = [];
  const server: RunningServer = await createServer({ port: 0, host: '127.0.0.1' }, dataSource, {
    logError: (message) => serverErrors.push(message),
  });

  const request = async <T>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    const body = JSON.parse(text) as { data?: T; errors?: GraphQLErrorShape[] };
    return { status: response.status, data: body.data, errors: body.errors, text };
  };

  return {
    url: server.url,
    dataSource,
    serverErrors,
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
      await server.stop();
      await dataSource.destroy();
      await database.drop();
    },
  };
}
