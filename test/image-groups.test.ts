import { createGroup, createImage, GroupData, ImageData } from './helpers/factories';
import { DELETE_GROUP, GROUP_BY_ID, IMAGE_BY_ID, SET_IMAGE_GROUPS } from './helpers/operations';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

async function setGroups(imageId: string, groupIds: string[]): Promise<ImageData> {
  return (await app.ok<{ setImageGroups: ImageData }>(SET_IMAGE_GROUPS, { imageId, groupIds })).setImageGroups;
}

const ids = (list: { id: string }[]) => list.map((x) => x.id).sort();

describe('setImageGroups', () => {
  it('replaces the whole group set and increases the version', async () => {
    const [a, b, c] = [await createGroup(app), await createGroup(app), await createGroup(app)];
    const image = await createImage(app, { groupIds: [a.id, b.id] });
    const updated = await setGroups(image.id, [b.id, c.id]);
    expect(ids(updated.groups)).toEqual(ids([b, c]));
    expect(updated.version).toBe(2);
    expect(updated.updatedAt >= image.updatedAt).toBe(true);
    expect(await app.rowCount('image_group_links', 'imageId = ?', [image.id])).toBe(2);
    expect(await app.rowCount('image_group_links', 'imageId = ? AND groupId = ?', [image.id, a.id])).toBe(0);
  });

  it('lists the groups by name', async () => {
    const z = await createGroup(app, { name: `zz-${Date.now()}` });
    const a = await createGroup(app, { name: `aa-${Date.now()}` });
    const image = await setGroups((await createImage(app)).id, [z.id, a.id]);
    expect(image.groups.map((g) => g.name)).toEqual([a.name, z.name]);
  });

  it('ignores duplicate ids', async () => {
    const g = await createGroup(app);
    const image = await createImage(app);
    const updated = await setGroups(image.id, [g.id, g.id, g.id]);
    expect(ids(updated.groups)).toEqual([g.id]);
    expect(await app.rowCount('image_group_links', 'imageId = ?', [image.id])).toBe(1);
  });

  it('empties the set with an empty list', async () => {
    const g = await createGroup(app);
    const image = await createImage(app, { groupIds: [g.id] });
    expect((await setGroups(image.id, [])).groups).toEqual([]);
    expect(await app.rowCount('image_group_links', 'imageId = ?', [image.id])).toBe(0);
  });

  it('leaves the version alone when the set is the same', async () => {
    const [a, b] = [await createGroup(app), await createGroup(app)];
    const image = await createImage(app, { groupIds: [a.id, b.id] });
    expect((await setGroups(image.id, [b.id, a.id])).version).toBe(1);
  });

  it('fails with NOT_FOUND naming the unknown id and changes nothing', async () => {
    const [a, b] = [await createGroup(app), await createGroup(app)];
    const image = await createImage(app, { groupIds: [a.id] });
    const error = await app.fails(SET_IMAGE_GROUPS, { imageId: image.id, groupIds: [b.id, 'ghost-group'] });
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'groupIds', ids: ['ghost-group'] });
    expect(error.message).toContain('ghost-group');
    const stored = (await app.ok<{ image: ImageData }>(IMAGE_BY_ID, { id: image.id })).image;
    expect(ids(stored.groups)).toEqual([a.id]);
    expect(stored.version).toBe(1);
  });

  it('fails with NOT_FOUND for an unknown image', async () => {
    const error = await app.fails(SET_IMAGE_GROUPS, { imageId: 'ghost-image', groupIds: [] });
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'imageId' });
  });

  it('shows the links from the group side too', async () => {
    const g = await createGroup(app);
    const [i1, i2] = [await createImage(app), await createImage(app)];
    await setGroups(i1.id, [g.id]);
    await setGroups(i2.id, [g.id]);
    const group = (await app.ok<{ group: GroupData }>(GROUP_BY_ID, { id: g.id })).group;
    expect(ids(group.images)).toEqual(ids([i1, i2]));
  });

  it('reads fresh groups when one request changes the set twice', async () => {
    const [a, b] = [await createGroup(app), await createGroup(app)];
    const image = await createImage(app);
    const data = await app.ok<{ first: ImageData; second: ImageData }>(
      `mutation($id: ID!, $a: [ID!]!, $b: [ID!]!) {
        first: setImageGroups(imageId: $id, groupIds: $a) { version groups { id } }
        second: setImageGroups(imageId: $id, groupIds: $b) { version groups { id } }
      }`,
      { id: image.id, a: [a.id], b: [b.id] },
    );
    expect(data.first).toEqual({ version: 2, groups: [{ id: a.id }] });
    expect(data.second).toEqual({ version: 3, groups: [{ id: b.id }] });
  });
});

describe('deleteGroup', () => {
  it('removes the group and its links, never the images, and bumps the images’ versions', async () => {
    const [g, other] = [await createGroup(app), await createGroup(app)];
    const image = await createImage(app, { groupIds: [g.id, other.id] });
    const untouched = await createImage(app, { groupIds: [other.id] });
    const data = await app.ok<{ deleteGroup: string }>(DELETE_GROUP, { id: g.id });
    expect(data.deleteGroup).toBe(g.id);
    expect(await app.rowCount('user_groups', 'id = ?', [g.id])).toBe(0);
    expect(await app.rowCount('image_group_links', 'groupId = ?', [g.id])).toBe(0);
    const stored = (await app.ok<{ image: ImageData }>(IMAGE_BY_ID, { id: image.id })).image;
    expect(ids(stored.groups)).toEqual([other.id]);
    expect(stored.version).toBe(2);
    expect((await app.ok<{ image: ImageData }>(IMAGE_BY_ID, { id: untouched.id })).image.version).toBe(1);
  });

  it('fails with NOT_FOUND for an unknown id', async () => {
    const error = await app.fails(DELETE_GROUP, { id: 'ghost-group' });
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
  });
});
