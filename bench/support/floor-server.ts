import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { createPool, Pool, RowDataPacket } from 'mysql2/promise';

export type Handlers = Record<string, (pool: Pool, variables: Record<string, unknown>) => Promise<unknown>>;

/** A floor's statement counter and query function: every statement it sends goes through here. */
export const floorStatements = { count: 0 };

export async function query<T extends RowDataPacket>(pool: Pool, sql: string, params: unknown[]): Promise<T[]> {
  floorStatements.count++;
  const [rows] = await pool.query<T[]>(sql, params);
  return rows;
}

/**
 * A floor process: a mysql2 pool of the service's size (`DATABASE_URL`, `DB_POOL_SIZE`) behind a
 * bare `node:http` handler that answers GraphQL operations by their name, and `/metrics` with the
 * statements sent. Prints `<label> at <url>` once it listens; SIGTERM stops it.
 */
export function serveFloor(label: string, handlers: Handlers): void {
  const url = new URL(process.env.DATABASE_URL ?? '');
  const pool = createPool({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
    connectionLimit: Number(process.env.DB_POOL_SIZE ?? 10),
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
  });
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`image_catalog_db_statements_total ${floorStatements.count}\n`);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const { query: text, variables } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables: Record<string, unknown> };
    const operation = /^\s*query\s+(\w+)/.exec(text)?.[1];
    const handler = operation ? handlers[operation] : undefined;
    if (!handler) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: `the ${label} does not answer ${operation}` }] }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: await handler(pool, variables ?? {}) }));
  };
  const server = createServer((req, res) => {
    answer(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: String(error) }] }));
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(`${label} at http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`));
  process.on('SIGTERM', () => {
    server.close(() => void pool.end().then(() => process.exit(0)));
    server.closeAllConnections();
  });
}
