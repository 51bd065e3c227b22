import { createGroup, createImage, createPullSecret, uniqueName } from './helpers/factories';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const FILTERED = `query($filter: ImageFilter) { images(filter: $filter, first: 100) { totalCount nodes { name } } }`;

async function filtered(filter: Record<string, unknown>): Promise<{ totalCount: number; names: string[] }> {
  const data = await app.ok<{ images: { totalCount: number; nodes: { name: string }[] } }>(FILTERED, { filter });
  return { totalCount: data.images.totalCount, names: data.images.nodes.map((n) => n.name) };
}

describe('huge filter lists', () => {
  it('40,000 repeated image types filter like one', async () => {
    const image = await createImage(app, { type: 'GPU' });
    const result = await filtered({ types: Array.from({ length: 40_000 }, () => 'GPU'), search: image.name });
    expect(result).toEqual({ totalCount: 1, names: [image.name] });
    expect(app.serverErrors).toEqual([]);
  });
});

describe('ids that cannot name a record', () => {
  // MariaDB compares the ascii_bin id columns ignoring trailing spaces and fails on non-ASCII
  // text; both must read as unknown ids, as on SQLite.
  const malformed = (id: string) => [`${id} `, `${id}\u00a0`, 'é', `${id.toUpperCase()}`, ''];

  it('find nothing by id, in lookups, filters and _entities', async () => {
    const group = await createGroup(app);
    const secret = await createPullSecret(app);
    const image = await createImage(app, { groupIds: [group.id], pullSecretId: secret.id });
    for (const id of malformed(image.id)) {
      expect(await app.ok(`query($id: ID) { image(id: $id) { id } }`, { id })).toEqual({ image: null });
      expect(await app.ok(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Image { id } } }`, { r: [{ __typename: 'Image', id }] })).toEqual({ _entities: [null] });
      expect(await app.ok(`query($id: ID) { auditEvents(filter: { entityId: $id }) { totalCount } }`, { id })).toEqual({ auditEvents: { totalCount: 0 } });
    }
    for (const id of malformed(group.id)) {
      expect(await app.ok(`query($id: ID) { group(id: $id) { id } }`, { id })).toEqual({ group: null });
      expect(await filtered({ groupId: id })).toEqual({ totalCount: 0, names: [] });
    }
    for (const id of malformed(secret.id)) {
      expect(await filtered({ pullSecretId: id })).toEqual({ totalCount: 0, names: [] });
    }
    expect(app.serverErrors).toEqual([]);
  });

  it('are NOT_FOUND in mutations, and change nothing', async () => {
    const group = await createGroup(app);
    const secret = await createPullSecret(app);
    const image = await createImage(app);
    for (const id of malformed(image.id)) {
      for (const [mutation, variables] of [
        ['mutation($id: ID!) { deleteImage(id: $id) }', { id }],
        ['mutation($id: ID!) { updateImage(id: $id, input: { displayName: "x" }) { id } }', { id }],
        ['mutation($id: ID!) { setImageGroups(imageId: $id, groupIds: []) { id } }', { id }],
      ] as const) {
        expect((await app.fails(mutation, variables)).extensions).toMatchObject({ code: 'NOT_FOUND', ids: [id] });
      }
    }
    for (const id of malformed(group.id)) {
      expect((await app.fails('mutation($id: ID!) { deleteGroup(id: $id) }', { id })).extensions).toMatchObject({ code: 'NOT_FOUND', ids: [id] });
      const linking = await app.fails('mutation($i: ID!, $g: [ID!]!) { setImageGroups(imageId: $i, groupIds: $g) { id } }', { i: image.id, g: [id] });
      expect(linking.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'groupIds', ids: [id] });
    }
    const secretReader = await app.caller({ sub: 'syncer', secretReader: true, admin: true });
    for (const id of malformed(secret.id)) {
      expect((await app.fails('mutation($id: ID!) { deleteImagePullSecret(id: $id) }', { id })).extensions).toMatchObject({ code: 'NOT_FOUND', ids: [id] });
      const using = await app.fails('mutation($i: ID!, $s: ID) { updateImage(id: $i, input: { pullSecretId: $s }) { id } }', { i: image.id, s: id });
      expect(using.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'pullSecretId', ids: [id] });
      expect(await secretReader.ok('query($id: ID!) { dockerConfigJson(id: $id) }', { id })).toEqual({ dockerConfigJson: null });
    }
    const after = await app.ok<{ image: { version: number; groups: unknown[]; pullSecret: unknown } }>('query($id: ID) { image(id: $id) { version groups { id } pullSecret { id } } }', { id: image.id });
    expect(after).toEqual({ image: { version: 1, groups: [], pullSecret: null } });
    expect(await app.rowCount('user_groups', 'id = ?', [group.id])).toBe(1);
    expect(await app.rowCount('image_pull_secrets', 'id = ?', [secret.id])).toBe(1);
    expect(app.serverErrors).toEqual([]);
  });
});

describe('single lookups', () => {
  it.each([
    ['image', 'images'],
    ['group', 'groups'],
    ['imagePullSecret', 'secrets'],
  ])('%s(id:) and %s(name:) find the same record; absent is null', async (field) => {
    const record =
      field === 'image' ? await createImage(app) : field === 'group' ? await createGroup(app) : await createPullSecret(app);
    const byId = await app.ok<Record<string, { name: string } | null>>(`query($id: ID) { ${field}(id: $id) { name } }`, { id: record.id });
    const byName = await app.ok<Record<string, { id: string } | null>>(`query($n: String) { ${field}(name: $n) { id } }`, { n: record.name });
    expect(byId[field]?.name).toBe(record.name);
    expect(byName[field]?.id).toBe(record.id);
    const missing = await app.ok<Record<string, unknown>>(`{ a: ${field}(id: "ghost") { id } b: ${field}(name: "ghost") { id } }`);
    expect(missing).toEqual({ a: null, b: null });
  });

  it.each(['image', 'group', 'imagePullSecret'])('%s(name:) ignores case, as name uniqueness does', async (field) => {
    const record =
      field === 'image' ? await createImage(app) : field === 'group' ? await createGroup(app) : await createPullSecret(app);
    const data = await app.ok<Record<string, { id: string } | null>>(`query($n: String) { a: ${field}(name: $n) { id } b: ${field}(name: "${record.name}") { id } }`, {
      n: record.name.toUpperCase(),
    });
    expect(data).toEqual({ a: { id: record.id }, b: { id: record.id } });
  });

  it.each(['image', 'group', 'imagePullSecret'])('%s needs exactly one of id and name', async (field) => {
    for (const args of ['', '(id: "a", name: "b")']) {
      const error = await app.fails(`{ ${field}${args} { id } }`);
      expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(error.extensions?.fields?.map((f) => f.field)).toEqual(['id', 'name']);
    }
  });
});

describe('image filters', () => {
  const tag = uniqueName('flt');
  let group: { id: string };
  let secret: { id: string };
  const n = (suffix: string) => `${tag}-${suffix}`;

  beforeAll(async () => {
    group = await createGroup(app);
    secret = await createPullSecret(app);
    await createImage(app, { name: n('cpu'), type: 'CPU', displayName: 'PyTorch 100% CPU', groupIds: [group.id] });
    await createImage(app, { name: n('gpu'), type: 'GPU', description: 'Has CUDA_12 inside', global: true, pullSecretId: secret.id });
    await createImage(app, { name: n('uni'), type: 'UNIVERSAL', displayName: 'Universal', groupIds: [group.id], pullSecretId: secret.id });
  });

  it('searches name, displayName and description case-insensitively', async () => {
    expect((await filtered({ search: tag.toUpperCase() })).names).toEqual([n('cpu'), n('gpu'), n('uni')]);
    expect((await filtered({ search: 'pytorch' })).names).toEqual([n('cpu')]);
    expect((await filtered({ search: 'cuda_12' })).names).toEqual([n('gpu')]);
    expect((await filtered({ search: '  universal ' })).names).toEqual([n('uni')]);
  });

  it('treats % and _ in a search literally', async () => {
    expect((await filtered({ search: '100%' })).names).toEqual([n('cpu')]);
    expect((await filtered({ search: 'cud_' })).names).toEqual([]);
    expect((await filtered({ search: '%' })).names).toEqual([n('cpu')]);
  });

  it('filters by types, global, group and pull secret, alone and together', async () => {
    expect((await filtered({ search: tag, types: ['CPU', 'GPU'] })).names).toEqual([n('cpu'), n('gpu')]);
    expect((await filtered({ search: tag, types: [] })).names).toEqual([]);
    expect((await filtered({ search: tag, global: true })).names).toEqual([n('gpu')]);
    expect((await filtered({ search: tag, global: false })).names).toEqual([n('cpu'), n('uni')]);
    expect((await filtered({ groupId: group.id })).names).toEqual([n('cpu'), n('uni')]);
    expect((await filtered({ pullSecretId: secret.id })).names).toEqual([n('gpu'), n('uni')]);
    expect(await filtered({ groupId: group.id, pullSecretId: secret.id, types: ['UNIVERSAL'] })).toEqual({ totalCount: 1, names: [n('uni')] });
    expect((await filtered({ groupId: 'ghost' })).totalCount).toBe(0);
  });

  it('counts what the filter matches across all pages', async () => {
    const data = await app.ok<{ images: { totalCount: number; nodes: unknown[] } }>(
      'query($s: String) { images(filter: { search: $s }, first: 1) { totalCount nodes { id } } }',
      { s: tag },
    );
    expect(data.images).toMatchObject({ totalCount: 3, nodes: [expect.anything()] });
  });

  it('searches groups and pull secrets by name and displayName', async () => {
    const g = await createGroup(app, { displayName: `Vision ${tag}` });
    const groups = await app.ok<{ groups: { nodes: { id: string }[] } }>('query($s: String) { groups(filter: { search: $s }) { nodes { id } } }', {
      s: `vision ${tag}`.toUpperCase(),
    });
    expect(groups.groups.nodes).toEqual([{ id: g.id }]);
    const s = await createPullSecret(app, { displayName: `Harbor ${tag}` });
    const secrets = await app.ok<{ imagePullSecrets: { nodes: { id: string }[] } }>(
      'query($s: String) { imagePullSecrets(filter: { search: $s }) { nodes { id } } }',
      { s: `harbor ${tag}` },
    );
    expect(secrets.imagePullSecrets.nodes).toEqual([{ id: s.id }]);
  });
});
