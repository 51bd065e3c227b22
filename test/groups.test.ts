import { createGroup, GroupData, uniqueName } from './helpers/factories';
import { CREATE_GROUP, GROUP_BY_ID, UPDATE_GROUP } from './helpers/operations';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

describe('groups', () => {
  it('creates a group with its displayName defaulting to the name', async () => {
    const name = uniqueName('Team_A');
    const group = await createGroup(app, { name, description: '  ML research ' });
    expect(group).toMatchObject({ name, displayName: name, description: 'ML research', images: [] });
    expect(await app.rowCount('user_groups', 'id = ?', [group.id])).toBe(1);
  });

  it.each(['a', 'Team_A', 'team-a', 'A1_b-2', 'x'.repeat(63)])('accepts the group name %p', async (name) => {
    const unique = name.length === 63 ? `${uniqueName('g')}${'x'.repeat(63)}`.slice(0, 63) : `${name}-${uniqueName('g')}`;
    expect((await createGroup(app, { name: unique })).name).toBe(unique);
  });

  it.each(['', '_a', 'a_', '-a', 'a-', 'a b', 'a.b', 'x'.repeat(64), 'ü'])('rejects the group name %p', async (name) => {
    const before = await app.rowCount('user_groups');
    const error = await app.fails(CREATE_GROUP, { input: { name } });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'name', message: expect.any(String) }] });
    expect(await app.rowCount('user_groups')).toBe(before);
  });

  it('treats names that differ only in case as the same name', async () => {
    const group = await createGroup(app, { name: uniqueName('Data') });
    const error = await app.fails(CREATE_GROUP, { input: { name: group.name.toUpperCase() } });
    expect(error.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' });
    const byName = await app.ok<{ group: { id: string } }>('query($n: String) { group(name: $n) { id } }', { n: group.name.toLowerCase() });
    expect(byName.group.id).toBe(group.id);
  });

  it('rejects a duplicate name with CONFLICT', async () => {
    const group = await createGroup(app);
    const error = await app.fails(CREATE_GROUP, { input: { name: group.name } });
    expect(error.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' });
  });

  it('updates partially: absent keeps, null clears the description, blank displayName resets', async () => {
    const group = await createGroup(app, { displayName: 'Team', description: 'text' });
    const kept = (await app.ok<{ updateGroup: GroupData }>(UPDATE_GROUP, { id: group.id, input: { displayName: 'Renamed' } })).updateGroup;
    expect(kept).toMatchObject({ displayName: 'Renamed', description: 'text' });
    const cleared = (await app.ok<{ updateGroup: GroupData }>(UPDATE_GROUP, { id: group.id, input: { description: null, displayName: '' } }))
      .updateGroup;
    expect(cleared).toMatchObject({ displayName: group.name, description: null });
    expect((await app.ok<{ group: GroupData }>(GROUP_BY_ID, { id: group.id })).group).toEqual(cleared);
  });

  it('refuses null for displayName and a too long description, changing nothing', async () => {
    const group = await createGroup(app, { displayName: 'Keep' });
    const error = await app.fails(UPDATE_GROUP, { id: group.id, input: { displayName: null, description: 'd'.repeat(2001) } });
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.extensions?.fields?.map((f) => f.field).sort()).toEqual(['description', 'displayName']);
    expect((await app.ok<{ group: GroupData }>(GROUP_BY_ID, { id: group.id })).group).toEqual(group);
  });

  it('fails with NOT_FOUND when updating an unknown group', async () => {
    const error = await app.fails(UPDATE_GROUP, { id: 'ghost', input: { displayName: 'x' } });
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
  });
});
