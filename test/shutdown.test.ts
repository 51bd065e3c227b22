import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { mintToken } from '../src/auth/tokens';
import { loadConfig } from '../src/config';
import { CREATE_IMAGE } from './helpers/operations';
import { TEST_JWT_SECRET, TEST_SECRETS_KEY } from './helpers/test-app';
import { ServiceProcess, startServiceProcess } from './helpers/service-process';
import { createTestDatabase, onMysql, TestDatabase } from './helpers/test-database';

// The service as it runs in a pod: a mutation is held up in the database when SIGTERM arrives; the
// service stops taking new connections, lets the mutation finish and commit, closes the pool and
// exits 0.

let database: TestDatabase;
let dataDir: string;
let service: ServiceProcess | undefined;

function startService(shutdownTimeoutMs: number): Promise<ServiceProcess> {
  return startServiceProcess({
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    SECRETS_KEY: TEST_SECRETS_KEY,
    DATA_DIR: dataDir,
    SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
  });
}

beforeEach(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'image-catalog-shutdown-'));
});

let releaseHeldLock: (() => Promise<void>) | undefined;

afterEach(async () => {
  // A failed run must not leave a lock (or its connections) behind: jest would wait on them.
  await releaseHeldLock?.().catch(() => undefined);
  if (service?.child.exitCode === null) service.child.kill('SIGKILL');
  await database.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface HeldLock {
  waitForBlockedInsert(): Promise<void>;
  release(): Promise<void>;
}

/** Holds the images table so an insert into it waits; the release runs at most once. */
async function holdImagesTable(): Promise<HeldLock> {
  const lock = await takeLock();
  let released: Promise<void> | undefined;
  const release = () => (released ??= lock.release());
  releaseHeldLock = release;
  return { waitForBlockedInsert: lock.waitForBlockedInsert, release };
}

async function takeLock(): Promise<HeldLock> {
  if (database.config.kind === 'sqlite') {
    const db = new Database(database.config.path);
    db.exec('BEGIN IMMEDIATE');
    return {
      // better-sqlite3 waits for the lock synchronously: nothing to observe from outside but time.
      waitForBlockedInsert: () => new Promise((resolve) => setTimeout(resolve, 500)),
      release: async () => {
        db.exec('COMMIT');
        db.close();
      },
    };
  }
  const { host, port, username, password, database: name } = database.config;
  const connection = await createConnection({ host, port, user: username, password, database: name });
  const observer = await createConnection({ host, port, user: username, password, database: name });
  await connection.query('LOCK TABLES images WRITE');
  return {
    waitForBlockedInsert: async () => {
      for (let i = 0; i < 100; i++) {
        const [rows] = await observer.query(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'INSERT INTO%images%'",
          [name],
        );
        if (Number((rows as { n: number }[])[0].n) > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the insert never reached the database');
    },
    release: async () => {
      await connection.query('UNLOCK TABLES');
      await connection.end();
      await observer.end();
    },
  };
}

async function storedImageNames(): Promise<string[]> {
  if (database.config.kind === 'sqlite') {
    const db = new Database(database.config.path, { readonly: true });
    const rows = db.prepare('SELECT name FROM images').all() as { name: string }[];
    db.close();
    return rows.map((r) => r.name);
  }
  const { host, port, username, password, database: name } = database.config;
  const connection = await createConnection({ host, port, user: username, password, database: name });
  const [rows] = await connection.query('SELECT name FROM images');
  await connection.end();
  return (rows as { name: string }[]).map((r) => r.name);
}

async function adminToken(): Promise<string> {
  return mintToken(new TextEncoder().encode(TEST_JWT_SECRET), loadConfig({ AUTH_JWT_SECRET: TEST_JWT_SECRET }).auth, { sub: 'ops', admin: true });
}

function createImage(url: string, token: string, name: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: CREATE_IMAGE, variables: { input: { name, url: 'busybox:1.36' } } }),
  });
}

describe('graceful shutdown', () => {
  it('finishes and stores a mutation in flight when SIGTERM arrives, then exits 0', async () => {
    const running = (service = await startService(15_000));
    const lock = await holdImagesTable();
    const inFlight = createImage(running.url, await adminToken(), 'made-during-shutdown');
    await lock.waitForBlockedInsert();

    running.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(running.child.exitCode).toBeNull();
    await lock.release();

    const response = await inFlight;
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data?: { createImage: { name: string } }; errors?: unknown };
    expect(body).toEqual({ data: { createImage: expect.objectContaining({ name: 'made-during-shutdown' }) } });
    expect(await running.exited).toBe(0);
    expect(await storedImageNames()).toEqual(['made-during-shutdown']);
    expect(running.output()).toContain('shutting down: finishing requests in flight');
    expect(running.output()).toContain('"msg":"stopped"');
    await expect(fetch(running.url, { method: 'POST' })).rejects.toThrow();
  }, 30_000);

  // better-sqlite3 waits for a lock synchronously, holding the whole process: only a server
  // database can keep a request busy past the timeout while the process itself stays responsive.
  (onMysql() ? it : it.skip)('gives up on a request that outlasts SHUTDOWN_TIMEOUT_MS, leaves its connection, says so and exits 1', async () => {
    const running = (service = await startService(500));
    const lock = await holdImagesTable();
    const inFlight = createImage(running.url, await adminToken(), 'stuck-during-shutdown').catch((error: unknown) => error);
    await lock.waitForBlockedInsert();

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(1);
    // It left through the pool timeout, with its reasons in the log, not through the last-resort exit.
    expect(running.output()).toContain('database connections were still busy after the shutdown timeout; leaving them');
    expect(running.output()).toContain('"msg":"stopped"');
    expect(await inFlight).toMatchObject({ message: 'fetch failed' });
    await lock.release();
  }, 30_000);
});
