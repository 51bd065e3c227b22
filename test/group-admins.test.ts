import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mintToken } from '../src/auth/tokens';
import { createGroup, createImage, createPullSecret, GroupData, PullSecretData, uniqueName } from './helpers/factories';
import { Client, startTestApp, TEST_JWT_SECRET, TestApp } from './helpers/test-app';
import { onMysql } from './helpers/test-database';

/**
 * Groups' own images and their admins. Every rule is asked of five callers: a platform admin, an
 * admin of the owner group, an admin of another group, a member of the owner group, and nobody.
 */

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const IMAGE_FIELDS = 'id name global enabled version ownerGroup { id } groups { id } pullSecret { id }';
const CREATE = `mutation ($input: CreateImageInput!) { createImage(input: $input) { ${IMAGE_FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateImageInput!) { updateImage(id: $id, input: $input) { ${IMAGE_FIELDS} } }`;
const DELETE = 'mutation ($id: ID!) { deleteImage(id: $id) }';
const CHECK = 'mutation ($id: ID!) { checkImage(id: $id) { id } }';
const SET_GROUPS = `mutation ($id: ID!, $groupIds: [ID!]!) { setImageGroups(imageId: $id, groupIds: $groupIds) { ${IMAGE_FIELDS} } }`;
const SHARE = 'mutation ($id: ID!, $groupIds: [ID!]!) { setImagePullSecretGroups(pullSecretId: $id, groupIds: $groupIds) { id groups { id } } }';
const BY_ID = `query ($id: ID) { image(id: $id) { ${IMAGE_FIELDS} } }`;
const BY_NAME = 'query ($name: String) { image(name: $name) { id } }';
const LIST = 'query ($filter: ImageFilter) { images(first: 100, filter: $filter) { nodes { id } } }';
const GROUP_IMAGES = 'query ($id: ID) { group(id: $id) { images { id } sharedPullSecrets { id name } } }';
const LAUNCH = 'query ($g: ID!) { launchableImages(groupId: $g, gpu: false) { id } }';
const ENTITIES = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Image { id } } }';

let teamA: GroupData;
let teamB: GroupData;
let sharedWithA: PullSecretData;
let notShared: PullSecretData;
let adminOfA: Client;
let adminOfB: Client;
let memberOfA: Client;
let memberOfB: Client;
let nobody: Client;

beforeAll(async () => {
  [teamA, teamB] = [await createGroup(app), await createGroup(app)];
  [sharedWithA, notShared] = [await createPullSecret(app), await createPullSecret(app)];
  await app.ok(SHARE, { id: sharedWithA.id, groupIds: [teamA.id] });
  adminOfA = await app.caller({ sub: 'admin-of-a', groupAdmin: [teamA.name] });
  adminOfB = await app.caller({ sub: 'admin-of-b', groupAdmin: [teamB.name] });
  memberOfA = await app.caller({ sub: 'member-of-a', groups: [teamA.name] });
  memberOfB = await app.caller({ sub: 'member-of-b', groups: [teamB.name] });
  nobody = app.as(null);
});

type ImageShape = { id: string; name: string; global: boolean; enabled: boolean; version: number; ownerGroup: { id: string } | null; groups: { id: string }[]; pullSecret: { id: string } | null };

async function ownImage(client: Client = adminOfA, input: Record<string, unknown> = {}): Promise<ImageShape> {
  return (await client.ok<{ createImage: ImageShape }>(CREATE, { input: { name: uniqueName('own'), url: 'lab/own:1', type: 'CPU', ownerGroupId: teamA.id, ...input } })).createImage;
}

const code = async (client: Client, query: string, variables: Record<string, unknown>) => (await client.request(query, variables)).errors?.[0]?.extensions;

describe('a group admin creates images for their group', () => {
  it('owned by the group, linked to it, never global; the audit trail names the group admin', async () => {
    const image = await ownImage(adminOfA, { pullSecretId: sharedWithA.id });
    expect(image).toMatchObject({ global: false, ownerGroup: { id: teamA.id }, groups: [{ id: teamA.id }], pullSecret: { id: sharedWithA.id } });
    const events: { actor: string; operation: string; changes: string }[] = await app.dataSource.query('SELECT actor, operation, changes FROM audit_events WHERE entityId = ?', [image.id]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'admin-of-a', operation: 'CREATE' });
    expect(JSON.parse(events[0].changes)).toContainEqual({ field: 'ownerGroupId', oldValue: null, newValue: teamA.id });
  });

  it.each([
    ['no ownerGroupId', () => ({}), 'FORBIDDEN', 'ownerGroupId'],
    ['another group', () => ({ ownerGroupId: teamB.id }), 'FORBIDDEN', 'ownerGroupId'],
    ['an unknown group', () => ({ ownerGroupId: '00000000-0000-4000-8000-000000000009' }), 'FORBIDDEN', 'ownerGroupId'],
    ['global: true', () => ({ ownerGroupId: teamA.id, global: true }), 'BAD_USER_INPUT', 'global'],
    ['a link to another group', () => ({ ownerGroupId: teamA.id, groupIds: [teamB.id] }), 'FORBIDDEN', 'groupIds'],
    ['a pull secret not shared with the group', () => ({ ownerGroupId: teamA.id, pullSecretId: notShared.id }), 'BAD_USER_INPUT', 'pullSecretId'],
  ])('refuses %s, and writes nothing', async (_what, input, expectedCode, field) => {
    const before = await app.rowCount('images');
    const error = await adminOfA.fails(CREATE, { input: { name: uniqueName('own'), url: 'lab/own:1', ...input() } });
    expect(error.extensions).toMatchObject({ code: expectedCode });
    expect(error.extensions?.field ?? error.extensions?.fields?.[0]?.field).toBe(field);
    expect(await app.rowCount('images')).toBe(before);
  });

  it('a platform admin may create a group\'s image and link it further, but the group\'s rules still hold', async () => {
    const image = (await app.ok<{ createImage: ImageShape }>(CREATE, { input: { name: uniqueName('own'), url: 'lab/own:1', ownerGroupId: teamA.id, groupIds: [teamB.id] } })).createImage;
    expect(image.ownerGroup).toEqual({ id: teamA.id });
    expect(image.groups.map((g) => g.id).sort()).toEqual([teamA.id, teamB.id].sort());
    expect((await app.fails(CREATE, { input: { name: uniqueName('own'), url: 'lab/own:1', ownerGroupId: teamA.id, global: true } })).extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await app.fails(CREATE, { input: { name: uniqueName('own'), url: 'lab/own:1', ownerGroupId: teamA.id, pullSecretId: notShared.id } })).extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await app.fails(CREATE, { input: { name: uniqueName('own'), url: 'lab/own:1', ownerGroupId: '00000000-0000-4000-8000-000000000009' } })).extensions).toMatchObject({ code: 'NOT_FOUND', field: 'ownerGroupId' });
  });

  it('members and callers without a token may not create images', async () => {
    expect(await code(memberOfA, CREATE, { input: { name: uniqueName('own'), url: 'lab/own:1', ownerGroupId: teamA.id } })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await code(nobody, CREATE, { input: { name: uniqueName('own'), url: 'lab/own:1', ownerGroupId: teamA.id } })).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});

describe('who may change, delete and check a group\'s image', () => {
  it.each([
    ['a platform admin', () => app as Client, null],
    ['an admin of its group', () => adminOfA, null],
    ['an admin of another group', () => adminOfB, 'NOT_FOUND'],
    ['a member of its group', () => memberOfA, 'FORBIDDEN'],
    ['a caller without a token', () => nobody, 'UNAUTHENTICATED'],
  ])('%s', async (_who, client, refused) => {
    const image = await ownImage();
    const update = await client().request(UPDATE, { id: image.id, input: { description: 'changed' } });
    const check = await client().request(CHECK, { id: image.id });
    const remove = await client().request(DELETE, { id: image.id });
    if (refused) {
      for (const response of [update, check, remove]) expect(response.errors?.[0]?.extensions?.code).toBe(refused);
      expect(await app.rowCount('images', 'id = ? AND version = 1', [image.id])).toBe(1);
    } else {
      expect(update.errors).toBeUndefined();
      // Checks are off in this file: allowed callers get that far, and no further.
      expect(check.errors?.[0]?.extensions?.code).toBe('REGISTRY_CHECKS_OFF');
      expect(remove.errors).toBeUndefined();
      expect(await app.rowCount('images', 'id = ?', [image.id])).toBe(0);
    }
  });

  it('a group admin may not change platform images: FORBIDDEN when they can see it, NOT_FOUND when they cannot', async () => {
    const linked = await createImage(app, { groupIds: [teamA.id] });
    const hidden = await createImage(app, { groupIds: [teamB.id] });
    expect(await code(adminOfA, UPDATE, { id: linked.id, input: { description: 'x' } })).toMatchObject({ code: 'FORBIDDEN', field: 'id' });
    expect(await code(adminOfA, DELETE, { id: linked.id })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await code(adminOfA, UPDATE, { id: hidden.id, input: { description: 'x' } })).toMatchObject({ code: 'NOT_FOUND' });
    expect(await code(adminOfA, DELETE, { id: hidden.id })).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps the rules of a group\'s image on update: never global, only shared secrets', async () => {
    const image = await ownImage();
    expect(await code(adminOfA, UPDATE, { id: image.id, input: { global: true } })).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'global' }] });
    expect(await code(app, UPDATE, { id: image.id, input: { pullSecretId: notShared.id } })).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'pullSecretId' }] });
    const updated = (await adminOfA.ok<{ updateImage: ImageShape }>(UPDATE, { id: image.id, input: { pullSecretId: sharedWithA.id, enabled: false } })).updateImage;
    expect(updated).toMatchObject({ pullSecret: { id: sharedWithA.id }, enabled: false, version: 2 });
  });

  it('only platform admins link a group\'s image further, and never away from its group', async () => {
    const image = await ownImage();
    expect(await code(adminOfA, SET_GROUPS, { id: image.id, groupIds: [teamA.id, teamB.id] })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await code(app, SET_GROUPS, { id: image.id, groupIds: [teamB.id] })).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'groupIds' }] });
    const linked = (await app.ok<{ setImageGroups: ImageShape }>(SET_GROUPS, { id: image.id, groupIds: [teamA.id, teamB.id] })).setImageGroups;
    expect(linked.groups.map((g) => g.id).sort()).toEqual([teamA.id, teamB.id].sort());
  });
});

describe('who sees a group\'s image', () => {
  let image: ImageShape;
  let disabled: ImageShape;
  beforeAll(async () => {
    image = await ownImage();
    disabled = await ownImage(adminOfA, { enabled: false });
  });

  const sees = async (client: Client, id: string) => {
    const byId = (await client.ok<{ image: { id: string } | null }>(BY_ID, { id })).image !== null;
    const name = (await app.ok<{ image: { name: string } }>(BY_ID, { id })).image.name;
    const byName = (await client.ok<{ image: { id: string } | null }>(BY_NAME, { name })).image !== null;
    const inList = (await client.ok<{ images: { nodes: { id: string }[] } }>(LIST, { filter: { scope: 'GROUP' } })).images.nodes.some((n) => n.id === id);
    const entities = (await client.ok<{ _entities: unknown[] }>(ENTITIES, { r: [{ __typename: 'Image', id }] }))._entities[0] !== null;
    return { byId, byName, inList, entities };
  };
  const everywhere = { byId: true, byName: true, inList: true, entities: true };
  const nowhere = { byId: false, byName: false, inList: false, entities: false };

  it.each([
    ['a platform admin', () => app as Client, everywhere, everywhere],
    ['an admin of its group (disabled ones too)', () => adminOfA, everywhere, everywhere],
    ['an admin of another group', () => adminOfB, nowhere, nowhere],
    ['a member of its group (not when disabled)', () => memberOfA, everywhere, nowhere],
    ['a member of another group', () => memberOfB, nowhere, nowhere],
  ])('%s', async (_who, client, enabledSeen, disabledSeen) => {
    expect(await sees(client(), image.id)).toEqual(enabledSeen);
    expect(await sees(client(), disabled.id)).toEqual(disabledSeen);
  });

  it('nobody without a token', async () => {
    expect((await nobody.request(BY_ID, { id: image.id })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('through its group and the launcher, for the group\'s members and admins', async () => {
    for (const client of [app as Client, adminOfA, memberOfA]) {
      const group = (await client.ok<{ group: { images: { id: string }[] } }>(GROUP_IMAGES, { id: teamA.id })).group;
      expect(group.images.map((i) => i.id)).toContain(image.id);
      // A disabled image is listed for those who may enable it again.
      expect(group.images.some((i) => i.id === disabled.id)).toBe(client !== memberOfA);
      const launch = (await client.ok<{ launchableImages: { id: string }[] }>(LAUNCH, { g: teamA.id })).launchableImages.map((i) => i.id);
      expect(launch).toContain(image.id);
      expect(launch).not.toContain(disabled.id);
    }
    expect((await adminOfB.request(LAUNCH, { g: teamA.id })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('filters by scope and owner group', async () => {
    const platform = await createImage(app, { groupIds: [teamA.id] });
    const ids = async (client: Client, filter: Record<string, unknown>) => (await client.ok<{ images: { nodes: { id: string }[] } }>(LIST, { filter: { groupId: teamA.id, ...filter } })).images.nodes.map((n) => n.id);
    expect(await ids(app, { scope: 'PLATFORM' })).toContain(platform.id);
    expect(await ids(app, { scope: 'PLATFORM' })).not.toContain(image.id);
    expect(await ids(app, { scope: 'GROUP' })).toContain(image.id);
    expect(await ids(app, { scope: 'GROUP' })).not.toContain(platform.id);
    const both = [...(await ids(app, { scope: 'PLATFORM' })), ...(await ids(app, { scope: 'GROUP' }))].sort();
    expect((await ids(app, { scope: 'ALL' })).sort()).toEqual(both);
    expect((await ids(app, {})).sort()).toEqual(both);
    const ownedByA = await ids(memberOfA, { ownerGroupId: teamA.id });
    expect(ownedByA).toContain(image.id);
    expect(ownedByA).not.toContain(platform.id);
    expect(ownedByA).not.toContain(disabled.id);
    const memberOfBSees = await memberOfB.ok<{ images: { nodes: unknown[] } }>(LIST, { filter: { ownerGroupId: teamA.id } });
    expect(memberOfBSees.images.nodes).toEqual([]);
  });
});

describe('pull secrets shared with groups', () => {
  it('only platform admins share them and see whom with; a group\'s admins see those shared with their group', async () => {
    const secret = await createPullSecret(app);
    expect(await code(adminOfA, SHARE, { id: secret.id, groupIds: [teamA.id] })).toMatchObject({ code: 'FORBIDDEN' });
    const shared = (await app.ok<{ setImagePullSecretGroups: { groups: { id: string }[] } }>(SHARE, { id: secret.id, groupIds: [teamA.id, teamB.id] })).setImagePullSecretGroups;
    expect(shared.groups.map((g) => g.id).sort()).toEqual([teamA.id, teamB.id].sort());
    const seenBy = async (client: Client) => ((await client.ok<{ group: { sharedPullSecrets: { id: string }[] } | null }>(GROUP_IMAGES, { id: teamA.id })).group?.sharedPullSecrets ?? []).map((s) => s.id);
    expect(await seenBy(app)).toEqual(expect.arrayContaining([secret.id, sharedWithA.id]));
    expect(await seenBy(adminOfA)).toEqual(expect.arrayContaining([secret.id, sharedWithA.id]));
    expect(await seenBy(memberOfA)).toEqual([]);
    expect(await code(adminOfA, 'query ($id: ID) { imagePullSecret(id: $id) { id } }', { id: secret.id })).toMatchObject({ code: 'FORBIDDEN' });
    const events = await app.rowCount('audit_events', "entityId = ? AND operation = 'SET_GROUPS' AND actor = 'test-admin'", [secret.id]);
    expect(events).toBe(1);
  });

  it('a group\'s admins reach a secret shared with it as a federation reference too; its members do not, until an image they see uses it', async () => {
    const secret = await createPullSecret(app);
    await app.ok(SHARE, { id: secret.id, groupIds: [teamA.id] });
    const SECRET_ENTITY = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on ImagePullSecret { id name } } }';
    const reach = async (client: Client) => (await client.ok<{ _entities: unknown[] }>(SECRET_ENTITY, { r: [{ __typename: 'ImagePullSecret', id: secret.id }] }))._entities[0];
    expect(await reach(adminOfA)).toEqual({ id: secret.id, name: secret.name });
    expect(await reach(adminOfB)).toBeNull();
    expect(await reach(memberOfA)).toBeNull();
    await ownImage(adminOfA, { pullSecretId: secret.id });
    expect(await reach(memberOfA)).toEqual({ id: secret.id, name: secret.name });
  });

  it('a secret a group\'s images use stays shared with it (CONFLICT listing them) until they stop using it', async () => {
    const secret = await createPullSecret(app);
    await app.ok(SHARE, { id: secret.id, groupIds: [teamA.id] });
    const user = await ownImage(adminOfA, { pullSecretId: secret.id });
    const error = await app.fails(SHARE, { id: secret.id, groupIds: [] });
    expect(error.extensions).toMatchObject({ code: 'CONFLICT', field: 'groupIds', images: [{ id: user.id, name: user.name }] });
    await adminOfA.ok(UPDATE, { id: user.id, input: { pullSecretId: null } });
    await app.ok(SHARE, { id: secret.id, groupIds: [] });
    expect(await app.rowCount('image_pull_secret_groups', 'pullSecretId = ?', [secret.id])).toBe(0);
  });
});

(onMysql() ? describe : describe.skip)('sharing races (MariaDB/MySQL only: SQLite runs one transaction at a time)', () => {
  it('a group admin creating an image with a secret and an admin unsharing it: exactly one of them wins', async () => {
    for (let round = 0; round < 15; round++) {
      const secret = await createPullSecret(app);
      await app.ok(SHARE, { id: secret.id, groupIds: [teamA.id] });
      const [create, unshare] = await Promise.all([
        adminOfA.request(CREATE, { input: { name: uniqueName('race'), url: 'lab/race:1', ownerGroupId: teamA.id, pullSecretId: secret.id } }),
        app.request(SHARE, { id: secret.id, groupIds: [] }),
      ]);
      const outcome = [create.errors?.[0]?.extensions?.code ?? 'ok', unshare.errors?.[0]?.extensions?.code ?? 'ok'];
      expect([['ok', 'CONFLICT'], ['BAD_USER_INPUT', 'ok']]).toContainEqual(outcome);
    }
    const stranded = await app.dataSource.query(
      'SELECT image.id FROM images image WHERE image.ownerGroupId IS NOT NULL AND image.pullSecretId IS NOT NULL AND NOT EXISTS (SELECT 1 FROM image_pull_secret_groups share WHERE share.pullSecretId = image.pullSecretId AND share.groupId = image.ownerGroupId)',
    );
    expect(stranded).toEqual([]);
  }, 60_000);
});

describe('groups that own images', () => {
  it('cannot be deleted before their images (CONFLICT listing them)', async () => {
    const team = await createGroup(app);
    const image = (await app.ok<{ createImage: ImageShape }>(CREATE, { input: { name: uniqueName('own'), url: 'lab/own:1', ownerGroupId: team.id } })).createImage;
    const error = await app.fails('mutation ($id: ID!) { deleteGroup(id: $id) }', { id: team.id });
    expect(error.extensions).toMatchObject({ code: 'CONFLICT', images: [{ id: image.id, name: image.name }] });
    await app.ok(DELETE, { id: image.id });
    await app.ok('mutation ($id: ID!) { deleteGroup(id: $id) }', { id: team.id });
  });
});

describe('group admin tokens', () => {
  it('npm run token -- --group-admin mints one that the service takes', () => {
    const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', 'src', 'cli', 'token.ts'), '--group-admin', teamA.name], {
      env: { ...process.env, AUTH_JWT_SECRET: TEST_JWT_SECRET },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(0);
    const token = result.stdout.trim();
    return ownImage(app.as(token)).then((image) => expect(image.ownerGroup).toEqual({ id: teamA.id }));
  });

  it('reads the claim AUTH_GROUP_ADMIN_CLAIM names (a dotted path, Keycloak\'s /group paths accepted)', async () => {
    const sibling = await app.sibling({ AUTH_GROUP_ADMIN_CLAIM: 'catalog.adminOf' });
    const token = await mintToken(new TextEncoder().encode(TEST_JWT_SECRET), { ...app.auth, groupAdminClaim: 'catalog.adminOf' }, { sub: 'keycloak-user', groupAdmin: [`/${teamA.name}`] });
    const image = await ownImage(sibling.as(token));
    expect(image.ownerGroup).toEqual({ id: teamA.id });
    // The default claim name means nothing to that server.
    const other = await app.mint({ sub: 'default-claim', groupAdmin: [teamA.name] });
    expect(await code(sibling.as(other), CREATE, { input: { name: uniqueName('own'), url: 'lab/own:1', ownerGroupId: teamA.id } })).toMatchObject({ code: 'FORBIDDEN' });
  });
});
