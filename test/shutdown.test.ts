import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { mintToken } from '../src/auth/tokens';
import { loadConfig } from '../src/config';
import { CREATE_IMAGE } from './helpers/operations';
import { TEST_JWT_SECRET, TEST_SECRETS_KEY } from './helpers/test-app';
import { createTestDatabase, TestDatabase } from './helpers/test-database';

// The service as it runs in a pod: a mutation is held up in the database when SIGTERM arrives; the
// service stops taking new connections, lets the mutation finish and commit, closes the pool and
// exits 0.

let database: TestDatabase;
let dataDir: string;
let child: ChildProcess;
let output = '';
let url: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'image-catalog-shutdown-'));
  child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', 'src', 'main.ts')], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      SECRETS_KEY: TEST_SECRETS_KEY,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      SHUTDOWN_TIMEOUT_MS: '15000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 25_000;
  while (!/"url":"([^"]+)"/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`service did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  url = /"url":"([^"]+)"/.exec(output)?.[1] as string;
}, 30_000);

let releaseHeldLock: (() => Promise<void>) | undefined;

afterAll(async () => {
  // A failed run must not leave a lock (or its connections) behind: jest would wait on them.
  await releaseHeldLock?.().catch(() => undefined);
  if (child.exitCode === null) child.kill('SIGKILL');
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

describe('graceful shutdown', () => {
  it('finishes and stores a mutation in flight when SIGTERM arrives, then exits 0', async () => {
    const token = await mintToken(new TextEncoder().encode(TEST_JWT_SECRET), loadConfig({ AUTH_JWT_SECRET: TEST_JWT_SECRET }).auth, { sub: 'ops', admin: true });
    const lock = await holdImagesTable();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const inFlight = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: CREATE_IMAGE, variables: { input: { name: 'made-during-shutdown', url: 'busybox:1.36' } } }),
    });
    await lock.waitForBlockedInsert();

    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(child.exitCode).toBeNull();
    await lock.release();

    const response = await inFlight;
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data?: { createImage: { name: string } }; errors?: unknown };
    expect(body).toEqual({ data: { createImage: expect.objectContaining({ name: 'made-during-shutdown' }) } });
    expect(await exited).toBe(0);
    expect(await storedImageNames()).toEqual(['made-during-shutdown']);
    expect(output).toContain('shutting down: finishing requests in flight');
    expect(output).toContain('"msg":"stopped"');
    await expect(fetch(url, { method: 'POST' })).rejects.toThrow();
  }, 30_000);
});
