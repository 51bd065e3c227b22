import { createConnection, Connection as MysqlConnection } from 'mysql2/promise';
import { parseDatabaseUrl } from '../src/config';
import { createGroup, createImage, uniqueName } from './helpers/factories';
import { CREATE_IMAGE, DELETE_GROUP, UPDATE_IMAGE } from './helpers/operations';
import { GraphQLResponse, startTestApp, TestApp } from './helpers/test-app';
import { onMysql } from './helpers/test-database';

/**
 * Real parallel HTTP requests. On MariaDB/MySQL they race on row locks in the pool's connections;
 * on SQLite transactions take turns (db/transaction.ts), so the same outcomes must hold there too,
 * only with fewer losers.
 */

const PARALLEL = 20;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());
// Each test answers for the server errors logged while it ran.
beforeEach(() => {
  app.serverErrors.length = 0;
});

/** What the driver or the SQL would say: none of it may reach a client. */
const RAW_DRIVER_TEXT = /ER_[A-Z_]{3,}|errno|sqlState|Deadlock found|Lock wait timeout|SQLITE_|QueryFailed|Internal server error/i;

/** 'ok', or the code of the response's error. */
function outcome(response: GraphQLResponse): string {
  expect(response.status).toBe(200);
  expect(response.errors ?? []).toHaveLength(response.errors ? 1 : 0);
  return response.errors ? String(response.errors[0].extensions?.code) : 'ok';
}

function tally(responses: GraphQLResponse[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const code of responses.map(outcome)) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

function expectNoServerFailure(responses: GraphQLResponse[]): void {
  for (const response of responses) expect(response.text).not.toMatch(RAW_DRIVER_TEXT);
  expect(app.serverErrors).toEqual([]);
}

const sorted = (ids: readonly string[]) => [...ids].sort();

async function imageRow(id: string): Promise<{ version: number; displayName: string; description: string | null } | undefined> {
  const rows: { version: number | string; displayName: string; description: string | null }[] = await app.dataSource.query(
    'SELECT version, displayName, description FROM images WHERE id = ?',
    [id],
  );
  return rows[0] && { ...rows[0], version: Number(rows[0].version) };
}

async function linkedGroupIds(imageId: string): Promise<string[]> {
  const rows: { groupId: string }[] = await app.dataSource.query('SELECT groupId FROM image_group_links WHERE imageId = ?', [imageId]);
  return sorted(rows.map((r) => r.groupId));
}

interface AuditRow {
  operation: string;
  changes: { field: string; oldValue: unknown; newValue: unknown }[];
}

async function auditEvents(entityId: string, operation?: string): Promise<AuditRow[]> {
  const rows: { operation: string; changes: string }[] = await app.dataSource.query(
    `SELECT operation, changes FROM audit_events WHERE entityId = ?${operation ? ' AND operation = ?' : ''}`,
    operation ? [entityId, operation] : [entityId],
  );
  return rows.map((r) => ({ operation: r.operation, changes: JSON.parse(r.changes) as AuditRow['changes'] }));
}

const SET_GROUPS_RESULT = 'mutation SetImageGroups($imageId: ID!, $groupIds: [ID!]!) { setImageGroups(imageId: $imageId, groupIds: $groupIds) { id version } }';

describe('concurrent mutations over HTTP', () => {
  it(`let exactly one of ${PARALLEL} createImage calls with one name win; the rest get CONFLICT on the name`, async () => {
    const group = await createGroup(app);
    const name = uniqueName('race');
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => app.request(CREATE_IMAGE, { input: { name, url: `busybox:${i}`, groupIds: [group.id] } })),
    );

    expect(tally(responses)).toEqual({ ok: 1, CONFLICT: PARALLEL - 1 });
    for (const response of responses.filter((r) => r.errors)) {
      expect(response.errors?.[0].extensions).toMatchObject({ field: 'name', fields: [{ field: 'name', message: 'is already taken' }] });
    }
    const winner = responses.find((r) => !r.errors)?.data as { createImage: { id: string } };
    expect(await app.rowCount('images', 'name = ?', [name])).toBe(1);
    expect(await imageRow(winner.createImage.id)).toMatchObject({ version: 1 });
    expect(await linkedGroupIds(winner.createImage.id)).toEqual([group.id]);
    expect(await app.rowCount('audit_events', 'entityName = ? AND operation = ?', [name, 'CREATE'])).toBe(1);
    expectNoServerFailure(responses);
  });

  it(`apply ${PARALLEL} concurrent setImageGroups one after another: never a mix of sets, one version per success`, async () => {
    const groups = await Promise.all(Array.from({ length: 5 }, () => createGroup(app)));
    // Distinct non-empty subsets, none equal to the image's initial (empty) set: every success changes it.
    const sets = Array.from({ length: PARALLEL }, (_, i) => sorted(groups.filter((_, bit) => ((i + 1) >> bit) & 1).map((g) => g.id)));
    const image = await createImage(app);
    const responses = await Promise.all(
      sets.map((groupIds) => app.request<{ setImageGroups: { version: number } }>(SET_GROUPS_RESULT, { imageId: image.id, groupIds })),
    );

    // They take turns on the image's row lock (MySQL) or on the one connection (SQLite): none loses.
    expect(tally(responses)).toEqual({ ok: PARALLEL });

    const successes = responses
      .map((response, i) => ({ version: response.data?.setImageGroups.version, set: sets[i] }))
      .filter((s): s is { version: number; set: string[] } => s.version !== undefined)
      .sort((a, b) => a.version - b.version);
    expect(successes.length).toBeGreaterThan(0);
    expect(successes.map((s) => s.version)).toEqual(successes.map((_, i) => i + 2));
    expect(await imageRow(image.id)).toMatchObject({ version: 1 + successes.length });
    expect(await linkedGroupIds(image.id)).toEqual(successes[successes.length - 1].set);

    // Each success replaced exactly the set the one before it left: nobody worked from a stale read.
    const steps = successes.map((s, i) => JSON.stringify([i === 0 ? [] : successes[i - 1].set, s.set]));
    const audited = (await auditEvents(image.id, 'SET_GROUPS')).map(({ changes: [change] }) =>
      JSON.stringify([sorted(change.oldValue as string[]), sorted(change.newValue as string[])]),
    );
    expect(sorted(audited)).toEqual(sorted(steps));
    expectNoServerFailure(responses);
  });

  it('delete an image while its groups are being set: the deletion audits the groups it really removed', async () => {
    const groups = await Promise.all(Array.from({ length: 4 }, () => createGroup(app)));
    const image = await createImage(app);
    const sets = Array.from({ length: 10 }, (_, i) => sorted(groups.filter((_, bit) => ((i + 1) >> bit) & 1).map((g) => g.id)));
    const setting = sets.map((groupIds) => app.request(SET_GROUPS_RESULT, { imageId: image.id, groupIds }));
    const deleting = app.request('mutation($id: ID!) { deleteImage(id: $id) }', { id: image.id });
    const responses = [...(await Promise.all(setting)), await deleting];

    expect(responses.at(-1)?.data).toEqual({ deleteImage: image.id });
    // Calls queued behind the deletion find the image gone; none fails otherwise.
    expect(Object.keys(tally(responses)).filter((code) => code !== 'ok' && code !== 'NOT_FOUND')).toEqual([]);
    const succeeded = responses.slice(0, -1).filter((r) => !r.errors).length;
    const events: (AuditRow & { version?: number })[] = await auditEvents(image.id);
    const setGroups = events.filter((e) => e.operation === 'SET_GROUPS');
    expect(setGroups).toHaveLength(succeeded);
    // The set the deletion removed is the one the last successful call left (each call changes it).
    const lastSet = setGroups.map((e) => sorted(e.changes[0].newValue as string[])).find((set) => !setGroups.some((other) => sorted(other.changes[0].oldValue as string[]).join() === set.join()));
    const deletion = events.find((e) => e.operation === 'DELETE');
    const removed = deletion?.changes.find((c) => c.field === 'groupIds')?.oldValue as string[] | undefined;
    expect(sorted(removed ?? [])).toEqual(lastSet ?? []);
    expect(await linkedGroupIds(image.id)).toEqual([]);
    expectNoServerFailure(responses);
  });

  it(`let exactly one of ${PARALLEL} updateImage calls with the same expectedVersion win; the rest get CONFLICT`, async () => {
    const image = await createImage(app, { displayName: 'Original' });
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => app.request<{ updateImage: { displayName: string; version: number } }>(UPDATE_IMAGE, {
        id: image.id,
        input: { displayName: `Edit ${i}`, expectedVersion: 1 },
      })),
    );

    expect(tally(responses)).toEqual({ ok: 1, CONFLICT: PARALLEL - 1 });
    for (const response of responses.filter((r) => r.errors)) {
      expect(response.errors?.[0].extensions).toMatchObject({ field: 'expectedVersion' });
    }
    const winner = responses.find((r) => !r.errors)?.data?.updateImage;
    expect(winner?.version).toBe(2);
    expect(await imageRow(image.id)).toMatchObject({ version: 2, displayName: winner?.displayName });
    expect(await auditEvents(image.id, 'UPDATE')).toEqual([
      { operation: 'UPDATE', changes: [{ field: 'displayName', oldValue: 'Original', newValue: winner?.displayName }] },
    ]);
    expectNoServerFailure(responses);
  });

  it('delete a group while images are being linked to it: no dangling link, no lost version, no INTERNAL_SERVER_ERROR', async () => {
    const doomed = await createGroup(app);
    const kept = await createGroup(app);
    const images = await Promise.all(Array.from({ length: 12 }, () => createImage(app)));
    const newNames = Array.from({ length: 4 }, () => uniqueName('late'));
    const link = (image: { id: string }) => app.request(SET_GROUPS_RESULT, { imageId: image.id, groupIds: [doomed.id, kept.id] });
    const create = (name: string) => app.request(CREATE_IMAGE, { input: { name, url: 'busybox', groupIds: [doomed.id, kept.id] } });
    const remove = () => app.request(DELETE_GROUP, { id: doomed.id });
    // Sent in this order, so the deletions are in the middle of the links on either database.
    const linking = images.slice(0, 6).map(link);
    const creating = newNames.slice(0, 2).map(create);
    const deleting = [remove()];
    linking.push(...images.slice(6).map(link));
    deleting.push(remove());
    creating.push(...newNames.slice(2).map(create));
    const [linked, created, deleted] = await Promise.all([Promise.all(linking), Promise.all(creating), Promise.all(deleting)]);
    const responses = [...linked, ...created, ...deleted];

    expect(deleted.map(outcome).sort()).toEqual(['NOT_FOUND', 'ok']);
    // A link that lost the race finds the group gone (NOT_FOUND) or collides with its deletion (CONFLICT).
    for (const response of [...linked, ...created]) expect(['ok', 'NOT_FOUND', 'CONFLICT']).toContain(outcome(response));

    expect(await app.rowCount('user_groups', 'id = ?', [doomed.id])).toBe(0);
    expect(await app.rowCount('image_group_links', 'groupId NOT IN (SELECT id FROM user_groups)')).toBe(0);
    expect(await app.rowCount('image_group_links', 'imageId NOT IN (SELECT id FROM images)')).toBe(0);
    expect(await app.rowCount('audit_events', 'entityId = ? AND operation = ?', [doomed.id, 'DELETE'])).toBe(1);

    // A link that got in was taken away again by the deletion, which counts as a change of the image.
    for (const [i, image] of images.entries()) {
      const won = outcome(linked[i]) === 'ok';
      expect({ links: await linkedGroupIds(image.id), version: (await imageRow(image.id))?.version }).toEqual(
        won ? { links: [kept.id], version: 3 } : { links: [], version: 1 },
      );
      expect(await auditEvents(image.id)).toHaveLength(won ? 3 : 1);
    }
    for (const [i, name] of newNames.entries()) {
      const rows: { id: string }[] = await app.dataSource.query('SELECT id FROM images WHERE name = ?', [name]);
      if (outcome(created[i]) !== 'ok') {
        expect(rows).toEqual([]);
        continue;
      }
      expect({ links: await linkedGroupIds(rows[0].id), version: (await imageRow(rows[0].id))?.version }).toEqual({ links: [kept.id], version: 2 });
      expect(await auditEvents(rows[0].id)).toHaveLength(2);
    }
    expectNoServerFailure(responses);
  });
});

// SQLite runs one transaction at a time (db/transaction.ts): it has no deadlocks or lock waits to retry.
(onMysql() ? describe : describe.skip)('deadlocks and lock-wait timeouts (MariaDB/MySQL only)', () => {
  let other: MysqlConnection;
  let observer: MysqlConnection;

  beforeEach(async () => {
    const config = parseDatabaseUrl(app.databaseUrl);
    if (config.kind !== 'mysql') throw new Error('needs MySQL');
    const options = { host: config.host, port: config.port, user: config.username, password: config.password, database: config.database };
    other = await createConnection(options);
    observer = await createConnection(options);
  });

  afterEach(async () => {
    await other.end();
    await observer.end();
  });

  /** Resolves once a statement mentioning `text` (an id: unique to this test) waits for a row lock. */
  async function waitsForLock(text: string): Promise<void> {
    for (;;) {
      const [rows] = await observer.query(
        "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND INSTR(trx_query, ?) > 0",
        [text],
      );
      if (Number((rows as { n: number | string }[])[0].n) > 0) return;
      // InnoDB refreshes INNODB_TRX only when nobody read it for 100 ms: polling faster sees a frozen table.
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Sets the lock-wait timeout of every connection in the service's pool (mysql2 keeps session settings). */
  async function setServiceLockWaitTimeout(value: string): Promise<void> {
    const poolSize = (app.dataSource.options as { poolSize?: number }).poolSize ?? 10;
    const runners = Array.from({ length: poolSize }, () => app.dataSource.createQueryRunner());
    try {
      await Promise.all(runners.map((runner) => runner.connect()));
      await Promise.all(runners.map((runner) => runner.query(`SET SESSION innodb_lock_wait_timeout = ${value}`)));
    } finally {
      await Promise.all(runners.map((runner) => runner.release()));
    }
  }

  /** The UPDATE statements on images the service issued while `run` ran: one per attempt. */
  /** Attempts counted by a statement each one runs once: by default the image's UPDATE. */
  async function imageUpdatesDuring<T>(run: () => Promise<T>, perAttempt = /^UPDATE `images`/): Promise<{ result: T; attempts: number }> {
    let result: T | undefined;
    const { statements } = await app.countStatements(async () => {
      result = await run();
    });
    return { result: result as T, attempts: statements.filter((sql) => perAttempt.test(sql)).length };
  }

  it('retries a mutation chosen as a deadlock victim, and the caller sees only its success', async () => {
    const group = await createGroup(app);
    const image = await createImage(app, { description: 'before' });
    // InnoDB rolls back the transaction that has written less; make that the service's.
    await other.query('CREATE TABLE ballast (n INT PRIMARY KEY)');
    await other.query('BEGIN');
    await other.query('INSERT INTO ballast (n) VALUES ' + Array.from({ length: 200 }, (_, n) => `(${n})`).join(','));
    await other.query('UPDATE user_groups SET description = ? WHERE id = ?', ['held', group.id]);

    const { result: response, attempts } = await imageUpdatesDuring(async () => {
      // The service locks the image, then waits for the group row to check the new link's foreign key...
      const linking = app.request<{ setImageGroups: { version: number } }>(SET_GROUPS_RESULT, { imageId: image.id, groupIds: [group.id] });
      await waitsForLock(image.id);
      // ...while this waits for the image: a cycle, which InnoDB breaks by rolling the service back.
      await other.query('UPDATE images SET description = ? WHERE id = ?', ['changed by other', image.id]);
      await other.query('COMMIT');
      return linking;
    });

    expect(outcome(response)).toBe('ok');
    expect(response.data?.setImageGroups.version).toBe(2);
    expect(attempts).toBe(2);
    expect(await imageRow(image.id)).toMatchObject({ version: 2, description: 'changed by other' });
    expect(await linkedGroupIds(image.id)).toEqual([group.id]);
    expect(await auditEvents(image.id, 'SET_GROUPS')).toHaveLength(1);
    expectNoServerFailure([response]);
  });

  it('gives up after a bounded number of lock-wait timeouts with CONFLICT "try again", never the driver error', async () => {
    const image = await createImage(app, { displayName: 'Locked' });
    await other.query('BEGIN');
    await other.query('SELECT id FROM images WHERE id = ? FOR UPDATE', [image.id]);
    await setServiceLockWaitTimeout('1');
    try {
      // Each attempt waits at its locking read of the image, and gets no further.
      const { result: response, attempts } = await imageUpdatesDuring(
        () => app.request(UPDATE_IMAGE, { id: image.id, input: { displayName: 'Never' } }),
        /^SELECT .* FROM `images` .*FOR UPDATE$/s,
      );

      expect(outcome(response)).toBe('CONFLICT');
      expect(response.errors?.[0].message).toMatch(/try again/);
      // MAX_ATTEMPTS in db/transaction.ts.
      expect(attempts).toBe(5);
      expectNoServerFailure([response]);
    } finally {
      await other.query('ROLLBACK');
      await setServiceLockWaitTimeout('DEFAULT');
    }
    expect(await imageRow(image.id)).toMatchObject({ version: 1, displayName: 'Locked' });
    expect(await auditEvents(image.id, 'UPDATE')).toEqual([]);
  });
});
