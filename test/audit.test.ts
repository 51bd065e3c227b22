import { createGroup, createImage, createPullSecret } from './helpers/factories';
import { DOCKER_CONFIG_JSON, SET_IMAGE_GROUPS, UPDATE_IMAGE, UPDATE_PULL_SECRET } from './helpers/operations';
import { Client, startTestApp, TestApp } from './helpers/test-app';

interface Event {
  actor: string;
  operation: string;
  entityType: string;
  entityId: string;
  entityName: string;
  occurredAt: string;
  changes: { field: string; oldValue: unknown; newValue: unknown }[];
}

const EVENTS = `query Events($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { actor operation entityType entityId entityName occurredAt changes { field oldValue newValue } }
  }
}`;

let app: TestApp;
let bob: Client;

beforeAll(async () => {
  app = await startTestApp();
  bob = await app.caller({ sub: 'bob', admin: true });
});
afterAll(() => app.close());

async function eventsFor(entityId: string): Promise<Event[]> {
  const data = await app.ok<{ auditEvents: { nodes: Event[] } }>(EVENTS, { filter: { entityId }, first: 100 });
  return data.auditEvents.nodes;
}

const change = (events: Event[], field: string) => events[0].changes.find((c) => c.field === field);

describe('createdBy and updatedBy', () => {
  it('record the sub of who created and who last changed each record', async () => {
    const image = await createImage(app);
    const group = await createGroup(app);
    const secret = await createPullSecret(app);
    await bob.ok(UPDATE_IMAGE, { id: image.id, input: { description: 'by bob' } });
    await bob.ok(`mutation { updateGroup(id: "${group.id}", input: { description: "by bob" }) { id } }`);
    await bob.ok(UPDATE_PULL_SECRET, { id: secret.id, input: { username: 'bob-robot' } });
    const data = await app.ok<Record<string, { createdBy: string; updatedBy: string }>>(`{
      image(id: "${image.id}") { createdBy updatedBy }
      group(id: "${group.id}") { createdBy updatedBy }
      imagePullSecret(id: "${secret.id}") { createdBy updatedBy }
    }`);
    for (const record of Object.values(data)) expect(record).toEqual({ createdBy: 'test-admin', updatedBy: 'bob' });
  });
});

describe('auditEvents', () => {
  it('lists an image created, changed, regrouped and deleted, newest first, with old and new values', async () => {
    const group = await createGroup(app);
    const image = await createImage(app, { type: 'CPU', description: 'first' });
    await bob.ok(UPDATE_IMAGE, { id: image.id, input: { description: 'second', global: true } });
    await app.ok(SET_IMAGE_GROUPS, { imageId: image.id, groupIds: [group.id] });
    await bob.ok(`mutation { deleteImage(id: "${image.id}") }`);

    const events = await eventsFor(image.id);
    expect(events.map((e) => [e.operation, e.actor])).toEqual([
      ['DELETE', 'bob'],
      ['SET_GROUPS', 'test-admin'],
      ['UPDATE', 'bob'],
      ['CREATE', 'test-admin'],
    ]);
    expect(events.every((e) => e.entityType === 'IMAGE' && e.entityName === image.name)).toBe(true);
    const [deleted, regrouped, updated, created] = events;
    expect(created.changes).toEqual(
      expect.arrayContaining([
        { field: 'name', oldValue: null, newValue: image.name },
        { field: 'type', oldValue: null, newValue: 'CPU' },
        { field: 'global', oldValue: null, newValue: false },
      ]),
    );
    expect(updated.changes).toEqual([
      { field: 'description', oldValue: 'first', newValue: 'second' },
      { field: 'global', oldValue: false, newValue: true },
    ]);
    expect(regrouped.changes).toEqual([{ field: 'groupIds', oldValue: [], newValue: [group.id] }]);
    expect(deleted.changes).toEqual(expect.arrayContaining([{ field: 'description', oldValue: 'second', newValue: null }, { field: 'groupIds', oldValue: [group.id], newValue: null }]));
    expect(new Date(deleted.occurredAt).getTime()).toBeGreaterThanOrEqual(new Date(created.occurredAt).getTime());
  });

  it('shows a password only as "changed", for create, update and never elsewhere', async () => {
    const password = 'audit-Passw0rd-visible?';
    const secret = await createPullSecret(app, { password });
    await app.ok(UPDATE_PULL_SECRET, { id: secret.id, input: { password: `${password}2` } });
    const response = await app.request(EVENTS, { filter: { entityId: secret.id } });
    expect(response.text).not.toContain(password);
    const events = (response.data as { auditEvents: { nodes: Event[] } }).auditEvents.nodes;
    expect(change(events, 'password')).toEqual({ field: 'password', oldValue: 'changed', newValue: 'changed' });
    expect(events[1].changes.find((c) => c.field === 'password')).toEqual({ field: 'password', oldValue: null, newValue: 'changed' });
    const stored: { changes: string }[] = await app.dataSource.query('SELECT changes FROM audit_events');
    expect(stored.map((row) => row.changes).join('\n')).not.toContain(password);
  });

  it('records each read of a secret through dockerConfigJson, with its reader', async () => {
    const secret = await createPullSecret(app);
    const reader = await app.caller({ sub: 'syncer', secretReader: true });
    await reader.ok(DOCKER_CONFIG_JSON, { id: secret.id });
    await reader.ok(DOCKER_CONFIG_JSON, { id: secret.id });
    const reads = (await eventsFor(secret.id)).filter((e) => e.operation === 'READ_SECRET');
    expect(reads.map((e) => e.actor)).toEqual(['syncer', 'syncer']);
  });

  it('records the images a deleted group was taken from, and those a deleted secret was detached from', async () => {
    const [keep, drop] = [await createGroup(app), await createGroup(app)];
    const secret = await createPullSecret(app);
    const image = await createImage(app, { groupIds: [keep.id, drop.id], pullSecretId: secret.id });
    await app.ok(`mutation { deleteGroup(id: "${drop.id}") }`);
    await app.ok(`mutation { deleteImagePullSecret(id: "${secret.id}", detach: true) }`);
    const [detached, ungrouped] = await eventsFor(image.id);
    expect(detached).toMatchObject({ operation: 'UPDATE', changes: [{ field: 'pullSecretId', oldValue: secret.id, newValue: null }] });
    expect(ungrouped).toMatchObject({ operation: 'SET_GROUPS', changes: [{ field: 'groupIds', oldValue: [keep.id, drop.id].sort(), newValue: [keep.id] }] });
    expect((await eventsFor(drop.id)).map((e) => e.operation)).toEqual(['DELETE', 'CREATE']);
  });

  it('writes no event for a change that failed or changed nothing', async () => {
    const image = await createImage(app);
    const before = await app.rowCount('audit_events');
    await app.fails(UPDATE_IMAGE, { id: image.id, input: { description: 'late', expectedVersion: 99 } });
    await app.fails(SET_IMAGE_GROUPS, { imageId: image.id, groupIds: ['00000000-0000-4000-8000-000000000000'] });
    await app.ok(UPDATE_IMAGE, { id: image.id, input: { url: image.url } });
    expect(await app.rowCount('audit_events')).toBe(before);
  });

  it('rolls the change back when its event cannot be written, so no change lacks its event', async () => {
    const image = await createImage(app);
    await app.dataSource.query(`CREATE TABLE audit_events_saved AS SELECT * FROM audit_events`);
    await app.dataSource.query('DROP TABLE audit_events');
    try {
      const error = await app.fails(UPDATE_IMAGE, { id: image.id, input: { description: 'unaudited' } });
      expect(error.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await app.dataSource.query('ALTER TABLE audit_events_saved RENAME TO audit_events');
    }
    const data = await app.ok<{ image: { description: string | null; version: number } }>(`{ image(id: "${image.id}") { description version } }`);
    expect(data.image).toEqual({ description: null, version: 1 });
  });

  it('filters by entity type, entity and actor, and pages newest first', async () => {
    const carol = await app.caller({ sub: 'carol', admin: true });
    for (let i = 0; i < 5; i++) await carol.ok(`mutation { createGroup(input: { name: "carol-${i}" }) { id } }`);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const data: { auditEvents: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; nodes: Event[] } } = await app.ok(EVENTS, {
        filter: { actor: 'carol', entityType: 'GROUP' },
        first: 2,
        after,
      });
      expect(data.auditEvents.totalCount).toBe(5);
      seen.push(...data.auditEvents.nodes.map((e) => e.entityName));
      if (!data.auditEvents.pageInfo.hasNextPage) break;
      after = data.auditEvents.pageInfo.endCursor;
    }
    expect(seen).toEqual(['carol-4', 'carol-3', 'carol-2', 'carol-1', 'carol-0']);
    const images = await app.ok<{ auditEvents: { nodes: Event[] } }>(EVENTS, { filter: { actor: 'carol', entityType: 'IMAGE' } });
    expect(images.auditEvents.nodes).toEqual([]);
  });
});
