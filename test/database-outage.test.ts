import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphQLError } from 'graphql';
import { createConnection } from 'mysql2/promise';
import { QueryFailedError } from 'typeorm';
import { mintToken } from '../src/auth/tokens';
import { loadConfig } from '../src/config';
import { databaseUnavailableCause } from '../src/db/database-unavailable';
import {
  CREATE_GROUP,
  CREATE_IMAGE,
  CREATE_PULL_SECRET,
  DELETE_IMAGE,
  GROUP_BY_ID,
  IMAGE_BY_ID,
  LAUNCHABLE,
  SET_IMAGE_GROUPS,
  UPDATE_IMAGE,
} from './helpers/operations';
import { OwnMariaDb, startOwnMariaDb } from './helpers/own-mariadb';
import { ServiceProcess, startServiceProcess } from './helpers/service-process';
import { TEST_JWT_SECRET, TEST_SECRETS_KEY } from './helpers/test-app';
import { onMysql } from './helpers/test-database';

// The database server goes away under the running service (as a MariaDB pod restarts) and comes
// back. The service is a real process on a MariaDB of this test's own, so stopping it leaves the
// shared server every other test file uses alone.

/** What a request may take during the outage: a refused connection fails at once. */
const FAIL_FAST_MS = 5_000;
const RECOVERY_TIMEOUT_MS = 15_000;
const POOL_SIZE = 3;

interface Answer {
  status: number;
  ms: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: unknown[]; extensions?: { code?: string } }[];
  text: string;
}

let db: OwnMariaDb;
let service: ServiceProcess;
let dataDir: string;
let token: string;

async function gql(query: string, variables?: Record<string, unknown>): Promise<Answer> {
  const started = Date.now();
  const response = await fetch(service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  const body = JSON.parse(text) as Pick<Answer, 'data' | 'errors'>;
  return { status: response.status, ms: Date.now() - started, data: body.data, errors: body.errors, text };
}

async function ok<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
  const answer = await gql(query, variables);
  if (answer.errors) throw new Error(`expected success, got ${answer.text}`);
  return answer.data as T;
}

async function probe(path: string): Promise<{ status: number; ms: number; body: unknown }> {
  const started = Date.now();
  const response = await fetch(new URL(path, service.url));
  const body: unknown = await response.json();
  return { status: response.status, ms: Date.now() - started, body };
}

async function poolConnections(): Promise<number> {
  const metrics = await (await fetch(new URL('/metrics', service.url))).text();
  return [...metrics.matchAll(/^image_catalog_db_pool_connections\{state="\w+"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

interface Acknowledged {
  groupId: string;
  secretId: string;
  images: { id: string; name: string; version: number; groups: string[] }[];
}
let acknowledged: Acknowledged;

/** Several records, every one of them answered with success: those must outlive the outage. */
async function writeRecords(): Promise<Acknowledged> {
  const { createGroup: group } = await ok<{ createGroup: { id: string; name: string } }>(CREATE_GROUP, { input: { name: 'outage-team' } });
  const { createImagePullSecret: secret } = await ok<{ createImagePullSecret: { id: string } }>(CREATE_PULL_SECRET, {
    input: { name: 'outage-registry', registryHost: 'registry.example.com', username: 'robot', password: 'registry-password' },
  });
  // Concurrent, so the pool holds several connections when the server goes: each must be dropped.
  const created = await Promise.all(
    ['outage-a', 'outage-b', 'outage-c', 'outage-d'].map((name) =>
      ok<{ createImage: { id: string; name: string } }>(CREATE_IMAGE, { input: { name, url: `busybox:${name}`, groupIds: [group.id] } }),
    ),
  );
  const [a, b] = created.map((c) => c.createImage);
  const { updateImage } = await ok<{ updateImage: { version: number } }>(UPDATE_IMAGE, {
    id: a.id,
    input: { description: 'changed before the outage', pullSecretId: secret.id, expectedVersion: 1 },
  });
  const { setImageGroups } = await ok<{ setImageGroups: { version: number } }>(SET_IMAGE_GROUPS, { imageId: b.id, groupIds: [] });
  return {
    groupId: group.id,
    secretId: secret.id,
    images: created.map(({ createImage: image }) => ({
      id: image.id,
      name: image.name,
      version: image.id === a.id ? updateImage.version : image.id === b.id ? setImageGroups.version : 1,
      groups: image.id === b.id ? [] : [group.name],
    })),
  };
}

/**
 * Holds the images table from a connection of our own until the server goes down, and resolves
 * once one of the service's statements waits on it: a request caught in flight by the outage.
 */
async function holdImagesUntilStopped(): Promise<(inFlight: Promise<unknown>) => Promise<void>> {
  const connect = () => createConnection({ host: '127.0.0.1', port: db.port, user: 'root', database: db.database });
  const [holder, observer] = await Promise.all([connect(), connect()]);
  // The server's shutdown closes this connection under us; that is the point.
  holder.on('error', () => undefined);
  await holder.query('LOCK TABLES images WRITE');
  return async (inFlight) => {
    for (let i = 0; ; i++) {
      const [rows] = await observer.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND STATE LIKE 'Waiting for table%'", [db.user]);
      if (Number((rows as { n: number }[])[0].n) > 0) break;
      if (i > 100) throw new Error(`the request never waited on the lock: ${JSON.stringify(await Promise.race([inFlight, 'still running']))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await observer.end();
  };
}

/** Every operation the outage is checked with: reads through loaders and list queries, and writes. */
function operationsDuringOutage(): [string, string, Record<string, unknown>?][] {
  const [a, b] = acknowledged.images;
  return [
    ['list query', '{ images(first: 10) { totalCount nodes { name groups { name } } } }'],
    ['loader by id', IMAGE_BY_ID, { id: a.id }],
    ['one loader batch for two fields', `{ a: image(id: "${a.id}") { name } b: image(id: "${b.id}") { name } }`],
    ['group with its images', GROUP_BY_ID, { id: acknowledged.groupId }],
    ['launchable images', LAUNCHABLE, { groupId: acknowledged.groupId, gpu: false }],
    ['federation references', `{ _entities(representations: [{ __typename: "Image", id: "${a.id}" }]) { ... on Image { name } } }`],
    ['create', CREATE_IMAGE, { input: { name: 'made-during-outage', url: 'busybox:1.36' } }],
    ['update', UPDATE_IMAGE, { id: a.id, input: { description: 'changed during the outage' } }],
    ['delete', DELETE_IMAGE, { id: b.id }],
    ['create a group', CREATE_GROUP, { input: { name: 'outage-late' } }],
  ];
}

function expectUnavailable(label: string, answer: Answer): void {
  // The label names the operation that failed the check; the set of codes, any stray one.
  const codes = [...new Set((answer.errors ?? []).map((e) => e.extensions?.code))];
  expect({ label, codes, withinBound: answer.ms < FAIL_FAST_MS }).toEqual({ label, codes: ['SERVICE_UNAVAILABLE'], withinBound: true });
  for (const error of answer.errors ?? []) expect(error.message).toBe('The database is unavailable; try again shortly');
  // Nothing of the driver's reaches the caller.
  expect(answer.text).not.toMatch(/ECONNREFUSED|PROTOCOL_|127\.0\.0\.1|catalog@|stacktrace|Internal server error/);
}

(onMysql() ? describe : describe.skip)('a database outage (MariaDB only: an embedded SQLite file cannot go away on its own)', () => {
  beforeAll(async () => {
    db = await startOwnMariaDb();
    dataDir = mkdtempSync(join(tmpdir(), 'image-catalog-outage-'));
    service = await startServiceProcess({
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      SECRETS_KEY: TEST_SECRETS_KEY,
      DATA_DIR: dataDir,
      DB_POOL_SIZE: String(POOL_SIZE),
    });
    token = await mintToken(new TextEncoder().encode(TEST_JWT_SECRET), loadConfig({ AUTH_JWT_SECRET: TEST_JWT_SECRET }).auth, { sub: 'ops', admin: true });
  }, 60_000);

  afterAll(async () => {
    if (service?.child.exitCode === null) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    await db?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('serves and acknowledges writes while the database is up', async () => {
    acknowledged = await writeRecords();
    expect((await probe('/readyz')).status).toBe(200);
  });

  it('answers SERVICE_UNAVAILABLE within a few seconds while the database is down, and keeps running', async () => {
    const pid = service.child.pid;
    const waitUntilBlocked = await holdImagesUntilStopped();
    const inFlight = gql(CREATE_IMAGE, { input: { name: 'made-while-stopping', url: 'busybox:1.36' } });
    await waitUntilBlocked(inFlight);
    // The pool holds several connections now; every one of them is about to die with the server.
    expect(await poolConnections()).toBeGreaterThan(1);
    const stopping = Date.now();
    const inFlightAnswered = inFlight.then((answer) => ({ answer, afterStopMs: Date.now() - stopping }));
    await db.stop();
    // Caught mid-transaction: its connection dies with the server, and so does the request.
    const { answer, afterStopMs } = await inFlightAnswered;
    expectUnavailable('a create in flight', answer);
    expect(afterStopMs).toBeLessThan(FAIL_FAST_MS);

    // One at a time, so each answer's own latency is measured...
    for (const [label, query, variables] of operationsDuringOutage()) expectUnavailable(label, await gql(query, variables));
    // ...then all at once, several times the pool's size: none may wait on a dead connection.
    const burst = operationsDuringOutage().flatMap((operation) => [operation, operation]);
    const answers = await Promise.all(burst.map(([, query, variables]) => gql(query, variables)));
    answers.forEach((answer, i) => expectUnavailable(`${burst[i][0]} (concurrent)`, answer));

    const readyz = await probe('/readyz');
    expect(readyz).toMatchObject({ status: 503, body: { status: 'unavailable', checks: { database: 'unreachable' } } });
    expect(readyz.ms).toBeLessThan(FAIL_FAST_MS);
    expect((await probe('/healthz')).status).toBe(200);

    const metrics = await (await fetch(new URL('/metrics', service.url))).text();
    expect(metrics).toMatch(/image_catalog_graphql_errors_total\{code="SERVICE_UNAVAILABLE"\} [1-9]/);
    expect(service.child.exitCode).toBeNull();
    expect(service.child.pid).toBe(pid);
  }, 30_000);

  it('recovers by itself once the database is back, with every acknowledged write still there', async () => {
    const pid = service.child.pid;
    await db.start();
    const started = Date.now();
    let readyz = await probe('/readyz');
    while (readyz.status !== 200 && Date.now() - started < RECOVERY_TIMEOUT_MS) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      readyz = await probe('/readyz');
    }
    expect(readyz).toMatchObject({ status: 200, body: { checks: { database: 'ok', migrations: 'ok' } } });

    const { images } = await ok<{ images: { nodes: { id: string; name: string; version: number; groups: { name: string }[] }[] } }>(
      '{ images(first: 20) { nodes { id name version groups { name } } } }',
    );
    // Every acknowledged write, as acknowledged...
    expect(images.nodes.map(({ id, name, version, groups }) => ({ id, name, version, groups: groups.map((g) => g.name) }))).toEqual(
      [...acknowledged.images].sort((x, y) => x.name.localeCompare(y.name)),
    );
    // ...and nothing of what failed during the outage.
    const { groups } = await ok<{ groups: { nodes: { name: string }[] } }>('{ groups { nodes { name } } }');
    expect(groups.nodes).toEqual([{ name: 'outage-team' }]);
    const { image } = await ok<{ image: { description: string; pullSecret: { id: string } } }>(IMAGE_BY_ID, { id: acknowledged.images[0].id });
    expect(image).toMatchObject({ description: 'changed before the outage', pullSecret: { id: acknowledged.secretId } });

    // Writes work again, on the same process: it was never restarted.
    const { createImage } = await ok<{ createImage: { name: string } }>(CREATE_IMAGE, { input: { name: 'made-after-outage', url: 'busybox:1.36' } });
    expect(createImage.name).toBe('made-after-outage');
    expect(service.child.exitCode).toBeNull();
    expect(service.child.pid).toBe(pid);
    expect(service.output().match(/GraphQL at /g)).toHaveLength(1);
  }, 30_000);

  it('logged the outage by its cause alone: no password, no stack', () => {
    const lines = service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; msg: string; errors?: string[] });
    const outage = lines.filter((line) => line.msg.startsWith('Database unavailable'));
    expect(outage.length).toBeGreaterThan(0);
    // The create caught in flight lost its connection before COMMIT, so nothing of it was applied
    // and it ran again on a fresh connection (another node's, on a cluster), which here met the
    // stopped server: its answer names the refused connection, not the lost one.
    expect(outage[0].msg).toMatch(/^Database unavailable at createImage \(ECONNREFUSED\)/);
    // The two fields of one loader batch failed together, with one error: logged once, for the first.
    expect(outage.filter((line) => line.msg.startsWith('Database unavailable at a '))).not.toEqual([]);
    expect(outage.filter((line) => line.msg.startsWith('Database unavailable at b '))).toEqual([]);
    for (const line of outage) {
      expect(line.level).toBe('error');
      expect(line.msg).toMatch(/^Database unavailable at [\w.]+ \((ECONNREFUSED|PROTOCOL_CONNECTION_LOST|CONNECTION_CLOSED|ER_\w+)\): answered SERVICE_UNAVAILABLE$/);
    }
    // The request lines name the code; nothing was masked as an internal error.
    expect(lines.some((line) => line.errors?.includes('SERVICE_UNAVAILABLE'))).toBe(true);
    expect(lines.filter((line) => line.msg.startsWith('Unexpected error'))).toEqual([]);
    const output = service.output();
    expect(output).not.toContain(db.password);
    expect(output).not.toContain(encodeURIComponent(db.password));
  });
});

// The driver errors an outage produces besides the two the scenario above meets, built as mysql2
// and TypeORM build them; on every database, since it needs no server.
describe('what counts as the database being unavailable', () => {
  const driverError = (fields: Record<string, unknown>, message = 'driver message') => Object.assign(new Error(message), fields);

  it.each([
    ['a refused connection, raw from the pool', driverError({ code: 'ECONNREFUSED', errno: -111, fatal: true }), 'ECONNREFUSED'],
    ['a connect timeout', driverError({ code: 'ETIMEDOUT', errorno: 'ETIMEDOUT', fatal: true }, 'connect ETIMEDOUT'), 'ETIMEDOUT'],
    ['a reset socket', driverError({ code: 'ECONNRESET', errno: -104, fatal: true }), 'ECONNRESET'],
    ['DNS down', driverError({ code: 'EAI_AGAIN', errno: -3001, fatal: true }), 'EAI_AGAIN'],
    ['the server closing mid-statement', new QueryFailedError('SELECT 1', [], driverError({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true })), 'PROTOCOL_CONNECTION_LOST'],
    ['a shutdown in progress', new QueryFailedError('SELECT 1', [], driverError({ code: 'ER_SERVER_SHUTDOWN', errno: 1053 })), 'ER_SERVER_SHUTDOWN'],
    ['a connection killed (MariaDB)', new QueryFailedError('SELECT 1', [], driverError({ errno: 1927 })), 'ERRNO_1927'],
    ['too many connections', driverError({ code: 'ER_CON_COUNT_ERROR', errno: 1040 }), 'ER_CON_COUNT_ERROR'],
    ['server gone away', driverError({ errno: 2006 }), 'ERRNO_2006'],
    ['a statement on a connection already lost', driverError({ fatal: true }, "Can't add new command when connection is in closed state"), 'CONNECTION_CLOSED'],
    ['a pool closed by shutdown', driverError({}, 'Pool is closed.'), 'POOL_CLOSED'],
    ['one wrapped by GraphQL', new GraphQLError('wrapped', { originalError: driverError({ code: 'ECONNREFUSED', errno: -111, fatal: true }) }), 'ECONNREFUSED'],
  ])('%s', (_, error, cause) => {
    expect(databaseUnavailableCause(error)).toBe(cause);
  });

  it.each([
    ['a taken name', new QueryFailedError('INSERT', [], driverError({ code: 'ER_DUP_ENTRY', errno: 1062 }))],
    ['a deadlock, which is retried instead', new QueryFailedError('UPDATE', [], driverError({ code: 'ER_LOCK_DEADLOCK', errno: 1213 }))],
    ['a lock wait timeout, retried too', new QueryFailedError('UPDATE', [], driverError({ code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }))],
    ['wrong credentials: a setting to fix, not to wait out', driverError({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, fatal: true })],
    ['a broken schema', new QueryFailedError('SELECT', [], driverError({ code: 'ER_NO_SUCH_TABLE', errno: 1146 }))],
    ['a busy SQLite file', new QueryFailedError('INSERT', [], driverError({ code: 'SQLITE_BUSY' }))],
    ['another service refusing a connection', new TypeError('fetch failed', { cause: driverError({ code: 'ECONNREFUSED', errno: -111 }) })],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a bare string', 'ECONNREFUSED'],
    ['an error named like a property of every object', new Error('constructor')],
  ])('not %s', (_, error) => {
    expect(databaseUnavailableCause(error)).toBeUndefined();
  });
});
