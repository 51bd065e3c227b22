import { connect } from 'node:net';
import { createPullSecret } from './helpers/factories';
import { CREATE_PULL_SECRET } from './helpers/operations';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const endpoint = (path: string) => new URL(path, app.url).toString();

describe('health endpoints', () => {
  it('/healthz answers while the process lives', async () => {
    const response = await fetch(endpoint('/healthz'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz is 200 with the database reachable and every migration applied', async () => {
    const response = await fetch(endpoint('/readyz'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok' } });
  });

  it('/readyz is 503 while a migration is pending, and 200 again once it is applied', async () => {
    await app.dataSource.undoLastMigration({ transaction: 'each' });
    try {
      const response = await fetch(endpoint('/readyz'));
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'unavailable', checks: { database: 'ok', migrations: 'pending' } });
    } finally {
      await app.dataSource.runMigrations({ transaction: 'each' });
    }
    expect((await fetch(endpoint('/readyz'))).status).toBe(200);
  });

  it('/readyz is 503 when the database does not answer, while /healthz stays 200', async () => {
    const broken = await startTestApp();
    try {
      await broken.dataSource.destroy();
      const ready = await fetch(new URL('/readyz', broken.url));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable', checks: { database: 'unreachable' } });
      expect((await fetch(new URL('/healthz', broken.url))).status).toBe(200);
    } finally {
      await broken.dataSource.initialize();
      await broken.close();
    }
  });

  it('need no token', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await fetch(endpoint(path))).status).toBe(200);
  });
});

describe('request logs', () => {
  it('write one JSON line per request with the given request id, operation, outcome, duration and caller', async () => {
    const alice = await app.caller({ sub: 'alice-logs', groups: [] });
    const before = app.logs.length;
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-42', authorization: `Bearer ${await app.mint({ sub: 'alice-logs' })}` },
      body: JSON.stringify({ query: 'query ListImages { images { totalCount } }' }),
    });
    expect(response.headers.get('x-request-id')).toBe('req-42');
    await alice.ok('query Another { groups { totalCount } }');
    const lines = app.logs.slice(before).filter((l) => l.msg === 'graphql request');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', reqId: 'req-42', operation: 'ListImages', outcome: 'success', status: 200, sub: 'alice-logs', service: 'image-catalog' });
    expect(typeof lines[0].durationMs).toBe('number');
    expect(lines[1]).toMatchObject({ operation: 'Another', outcome: 'success' });
    expect(lines[1].reqId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('log an unnamed operation as anonymous, whatever its text mentions', async () => {
    const before = app.logs.length;
    await app.ok('{ images(filter: { search: "query Evil" }) { totalCount } }');
    expect(app.logs.slice(before).filter((l) => l.msg === 'graphql request')).toEqual([expect.objectContaining({ operation: 'anonymous', outcome: 'success' })]);
  });

  it('log refused and failed requests with their error codes', async () => {
    const before = app.logs.length;
    await app.as(null).request('query Sneaky { images { totalCount } }');
    await app.request('mutation Bad { createGroup(input: { name: "Not Valid!" }) { id } }');
    const lines = app.logs.slice(before).filter((l) => l.msg === 'graphql request');
    expect(lines.map((l) => [l.operation, l.outcome, l.status, l.errors])).toEqual([
      ['Sneaky', 'error', 401, ['UNAUTHENTICATED']],
      ['Bad', 'error', 200, ['BAD_USER_INPUT']],
    ]);
  });

  it('never hold a token, a password or any variable value', async () => {
    const password = 'logged-Passw0rd-never';
    const token = await app.mint({ sub: 'log-admin', admin: true });
    const before = app.logs.length;
    await app.as(token).ok(CREATE_PULL_SECRET, { input: { name: 'log-secret', registryHost: 'r.example.com', username: 'robot-in-logs', password } });
    await app.as(token).request(CREATE_PULL_SECRET, { input: { name: 'log-secret', registryHost: 'r.example.com', username: 'u', password } });
    const written = JSON.stringify(app.logs.slice(before));
    expect(written).toContain('CreatePullSecret');
    for (const secret of [password, token, 'robot-in-logs']) expect(written).not.toContain(secret);
  });
});

describe('/metrics', () => {
  it('counts requests and latency per operation and outcome, errors per code, the pool and the process', async () => {
    await createPullSecret(app);
    await app.request('query Counted { images { totalCount } }');
    await app.request('query Counted { images { totalCount } }');
    await app.request('query Failing { image { id } }');
    const response = await fetch(endpoint('/metrics'));
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^image_catalog_graphql_requests_total\{operation="Counted",outcome="success"\} 2$/m);
    expect(text).toMatch(/^image_catalog_graphql_requests_total\{operation="Failing",outcome="error"\} 1$/m);
    expect(text).toMatch(/^image_catalog_graphql_request_duration_seconds_bucket\{le="\+Inf",operation="Counted",outcome="success"\} 2$/m);
    expect(text).toMatch(/^image_catalog_graphql_errors_total\{code="BAD_USER_INPUT"\} [1-9]/m);
    expect(text).toMatch(/^image_catalog_db_pool_connections\{state="idle"\} \d+$/m);
    expect(text).toMatch(/^image_catalog_db_pool_connections\{state="in_use"\} \d+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('counts the SQL statements sent, as the TypeORM logger sees them (the benchmark divides them by requests)', async () => {
    const statements = async () => Number(/^image_catalog_db_statements_total (\d+)$/m.exec(await (await fetch(endpoint('/metrics'))).text())?.[1]);
    const before = await statements();
    const { count } = await app.countStatements(() => app.ok('{ images(first: 5) { totalCount nodes { groups { id } } } }'));
    expect(count).toBeGreaterThan(0);
    expect(await statements()).toBe(before + count);
  });

  it('lets only operations GraphQL resolved create labels: callers without a token cannot fill them', async () => {
    await app.request('query KnownName { images { totalCount } }');
    for (let i = 0; i < 3; i++) await app.as(null).request(`query Junk${i} { images { totalCount } }`);
    await app.as(null).request('query KnownName { images { totalCount } }');
    const text = await (await fetch(endpoint('/metrics'))).text();
    expect(text).not.toMatch(/operation="Junk\d"/);
    expect(text).toMatch(/^image_catalog_graphql_requests_total\{operation="KnownName",outcome="error"\} 1$/m);
    expect(text).toMatch(/^image_catalog_graphql_requests_total\{operation="KnownName",outcome="success"\} 1$/m);
  });

  it('logs an operation name a caller merely sent shortened to 100 characters', async () => {
    const before = app.logs.length;
    await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ images { totalCount } }', operationName: `N${'n'.repeat(5000)}` }) });
    const line = app.logs.slice(before).find((l) => l.msg === 'graphql request');
    expect(line).toMatchObject({ status: 401, operation: `N${'n'.repeat(99)}` });
  });

  it('counts and logs a request whose caller went away before the answer as aborted', async () => {
    const before = app.logs.length;
    const { port } = new URL(app.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        // Half a body: the server is still reading it when the connection goes.
        socket.write('POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":');
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    for (let i = 0; i < 50 && !app.logs.slice(before).some((l) => l.msg === 'graphql request'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(app.logs.slice(before).filter((l) => l.msg === 'graphql request')).toEqual([expect.objectContaining({ outcome: 'aborted', operation: 'anonymous' })]);
    expect(await (await fetch(endpoint('/metrics'))).text()).toMatch(/^image_catalog_graphql_requests_total\{operation="anonymous",outcome="aborted"\} 1$/m);
  });

  it('keeps odd operation names out of the labels', async () => {
    await app.request('query ${"x".repeat(100)} { images { totalCount } }'.replace('${"x".repeat(100)}', 'x'.repeat(100)));
    const text = await (await fetch(endpoint('/metrics'))).text();
    expect(text).not.toContain('x'.repeat(100));
    expect(text).toMatch(/operation="other"/);
  });
});
