import { createGroup, createImage, GroupData } from './helpers/factories';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const IMAGE = 'query ($id: ID) { image(id: $id) { id enabled version groups { id } } }';
const UPDATE = 'mutation ($id: ID!, $input: UpdateImageInput!) { updateImage(id: $id, input: $input) { id enabled version groups { id } } }';
const LAUNCH = 'query ($g: ID!, $gpu: Boolean!, $all: Boolean) { launchableImages(groupId: $g, gpu: $gpu, includeDisabled: $all) { id enabled } }';
const ENTITIES = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Image { id enabled } } }';

describe('enabling and disabling images', () => {
  let group: GroupData;
  let enabledId: string;
  let disabledId: string;

  beforeAll(async () => {
    group = await createGroup(app);
    enabledId = (await createImage(app, { type: 'CPU', groupIds: [group.id] })).id;
    disabledId = (await createImage(app, { type: 'CPU', groupIds: [group.id] })).id;
    const disabled = await app.ok<{ updateImage: { enabled: boolean; version: number; groups: { id: string }[] } }>(UPDATE, { id: disabledId, input: { enabled: false } });
    expect(disabled.updateImage).toEqual({ id: disabledId, enabled: false, version: 2, groups: [{ id: group.id }] });
  });

  const launchable = async (client: Pick<TestApp, 'ok'>, includeDisabled?: boolean) =>
    (await client.ok<{ launchableImages: { id: string }[] }>(LAUNCH, { g: group.id, gpu: false, all: includeDisabled })).launchableImages.map((i) => i.id);

  it('registers images enabled unless told otherwise', async () => {
    expect((await app.ok<{ image: { enabled: boolean } }>(IMAGE, { id: enabledId })).image.enabled).toBe(true);
    const off = await app.ok<{ createImage: { enabled: boolean } }>('mutation ($input: CreateImageInput!) { createImage(input: $input) { enabled } }', {
      input: { name: `off-${group.id.slice(0, 8)}`, url: 'lab/off:1', enabled: false },
    });
    expect(off.createImage.enabled).toBe(false);
  });

  it('keeps a disabled image, with its groups, for admins: by id, in lists, through its groups and the enabled filter', async () => {
    expect((await app.ok<{ image: { enabled: boolean; groups: unknown[] } }>(IMAGE, { id: disabledId })).image).toMatchObject({ enabled: false, groups: [{ id: group.id }] });
    const list = await app.ok<{ images: { nodes: { id: string }[] } }>('query ($g: ID) { images(filter: { groupId: $g }) { nodes { id } } }', { g: group.id });
    expect(list.images.nodes.map((i) => i.id).sort()).toEqual([enabledId, disabledId].sort());
    const onlyDisabled = await app.ok<{ images: { nodes: { id: string }[] } }>('query ($g: ID) { images(filter: { groupId: $g, enabled: false }) { nodes { id } } }', { g: group.id });
    expect(onlyDisabled.images.nodes).toEqual([{ id: disabledId }]);
    const viaGroup = await app.ok<{ group: { images: { id: string }[] } }>('query ($id: ID) { group(id: $id) { images { id } } }', { id: group.id });
    expect(viaGroup.group.images.map((i) => i.id).sort()).toEqual([enabledId, disabledId].sort());
  });

  it('leaves a disabled image out of launchableImages; an admin sees it with includeDisabled', async () => {
    expect(await launchable(app)).toEqual([enabledId]);
    expect((await launchable(app, true)).sort()).toEqual([enabledId, disabledId].sort());
  });

  it('hides a disabled image from members everywhere; includeDisabled is FORBIDDEN for them', async () => {
    const member = await app.caller({ sub: 'member', groups: [group.name] });
    expect(await launchable(member)).toEqual([enabledId]);
    const forbidden = await member.fails(LAUNCH, { g: group.id, gpu: false, all: true });
    expect(forbidden.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'includeDisabled' });
    expect((await member.ok<{ image: unknown }>(IMAGE, { id: disabledId })).image).toBeNull();
    const list = await member.ok<{ images: { nodes: { id: string }[] } }>('query ($g: ID) { images(filter: { groupId: $g }) { nodes { id } } }', { g: group.id });
    expect(list.images.nodes).toEqual([{ id: enabledId }]);
    const viaGroup = await member.ok<{ group: { images: { id: string }[] } }>('query ($id: ID) { group(id: $id) { images { id } } }', { id: group.id });
    expect(viaGroup.group.images).toEqual([{ id: enabledId }]);
    const entities = await member.ok<{ _entities: unknown[] }>(ENTITIES, { r: [{ __typename: 'Image', id: disabledId }, { __typename: 'Image', id: enabledId }] });
    expect(entities._entities).toEqual([null, { id: enabledId, enabled: true }]);
  });

  it('enables it again, with its groups intact, and audits both changes', async () => {
    const again = await app.ok<{ updateImage: { enabled: boolean; version: number; groups: unknown[] } }>(UPDATE, { id: disabledId, input: { enabled: true } });
    expect(again.updateImage).toMatchObject({ enabled: true, version: 3, groups: [{ id: group.id }] });
    expect((await launchable(app)).sort()).toEqual([enabledId, disabledId].sort());
    const events: { changes: string }[] = await app.dataSource.query("SELECT changes FROM audit_events WHERE entityId = ? AND operation = 'UPDATE' ORDER BY occurredAt, id", [disabledId]);
    expect(events.map((e) => JSON.parse(e.changes))).toEqual([
      [{ field: 'enabled', oldValue: true, newValue: false }],
      [{ field: 'enabled', oldValue: false, newValue: true }],
    ]);
    await app.ok<{ updateImage: { enabled: boolean } }>(UPDATE, { id: enabledId, input: { enabled: true } });
    expect((await app.ok<{ image: { version: number } }>(IMAGE, { id: enabledId })).image.version).toBe(1);
  });

  it('refuses a null enabled on update', async () => {
    const error = await app.fails(UPDATE, { id: enabledId, input: { enabled: null } });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'enabled' }] });
  });
});
