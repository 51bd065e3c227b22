import { createGroup, createImage, createPullSecret } from './helpers/factories';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
let groupNames: string[] = [];
beforeAll(async () => {
  app = await startTestApp();
  const groups = [];
  for (let i = 0; i < 12; i++) groups.push(await createGroup(app));
  groupNames = groups.map((g) => g.name);
  const secrets = [await createPullSecret(app), await createPullSecret(app), await createPullSecret(app)];
  for (let i = 0; i < 110; i++) {
    await createImage(app, {
      pullSecretId: i % 3 === 0 ? null : secrets[i % 3].id,
      groupIds: groups.filter((_, g) => (i + g) % 4 === 0).map((g) => g.id),
    });
  }
});
afterAll(() => app.close());

const IMAGES_PAGE = `query($first: Int) { images(first: $first) {
  totalCount pageInfo { hasNextPage endCursor }
  nodes { id name groups { id name } pullSecret { id name } }
} }`;

const GROUPS_PAGE = `query($first: Int) { groups(first: $first) { totalCount nodes { id images { id name } } } }`;

describe('SQL statements per request (every relation goes through a per-request DataLoader)', () => {
  it.each([10, 100])('images(first: %i) with groups and pull secret takes at most 4 statements', async (first) => {
    const { count } = await app.countStatements(async () => {
      const data = await app.ok<{ images: { nodes: { groups: unknown[] }[] } }>(IMAGES_PAGE, { first });
      expect(data.images.nodes).toHaveLength(first);
      expect(data.images.nodes.some((n) => n.groups.length > 0)).toBe(true);
    });
    expect(count).toBeLessThanOrEqual(4);
  });

  it.each([5, 12])('groups(first: %i) with their images takes at most 4 statements', async (first) => {
    const { count } = await app.countStatements(async () => {
      const data = await app.ok<{ groups: { nodes: { images: unknown[] }[] } }>(GROUPS_PAGE, { first });
      expect(data.groups.nodes.every((n) => n.images.length > 0)).toBe(true);
    });
    expect(count).toBeLessThanOrEqual(4);
  });

  it('the same number of statements for 10 and for 100 images', async () => {
    const small = await app.countStatements(() => app.ok(IMAGES_PAGE, { first: 10 }));
    const large = await app.countStatements(() => app.ok(IMAGES_PAGE, { first: 100 }));
    expect(large.count).toBe(small.count);
  });

  it.each([10, 100])("a member's images(first: %i) is scoped in SQL, in the same 4 statements", async (first) => {
    const member = await app.caller({ sub: 'counted', groups: groupNames.slice(0, 6) });
    const { count, statements } = await app.countStatements(async () => {
      const data = await member.ok<{ images: { nodes: unknown[] } }>(IMAGES_PAGE, { first });
      expect(data.images.nodes.length).toBeGreaterThan(0);
    });
    expect(count).toBeLessThanOrEqual(4);
    expect(statements.join('\n')).toContain('scope_group');
  });

  it('the launcher takes at most 4 statements, the same for 3 or 28 usable images', async () => {
    const small = await createGroup(app);
    for (let i = 0; i < 3; i++) await createImage(app, { groupIds: [small.id] });
    const large = (await app.ok<{ group: { id: string } }>('query($name: String) { group(name: $name) { id } }', { name: groupNames[0] })).group;
    const LAUNCHER = 'query($g: ID!) { launchableImages(groupId: $g, gpu: true) { id name urlFor(gpu: true) } }';
    const counts = [];
    for (const [group, usable] of [[small.id, 3], [large.id, 28]] as const) {
      const { count } = await app.countStatements(async () => {
        const data = await app.ok<{ launchableImages: unknown[] }>(LAUNCHER, { g: group });
        expect(data.launchableImages).toHaveLength(usable);
      });
      counts.push(count);
    }
    expect(counts[0]).toBeLessThanOrEqual(4);
    expect(counts[1]).toBe(counts[0]);
  });

  it('the launcher brings each image\'s pull secret along: 2 statements, for an admin and for a member alike', async () => {
    const secret = await createPullSecret(app);
    const group = await createGroup(app);
    const withSecret = await createImage(app, { type: 'CPU', groupIds: [group.id], pullSecretId: secret.id });
    const without = await createImage(app, { type: 'CPU', groupIds: [group.id] });
    const LAUNCHER = 'query($g: ID!) { launchableImages(groupId: $g, gpu: false) { id pullSecret { id name } } }';
    const member = await app.caller({ sub: 'launching-member', groups: [group.name] });
    for (const client of [app, member]) {
      const { count } = await app.countStatements(async () => {
        const data = await client.ok<{ launchableImages: { id: string; pullSecret: unknown }[] }>(LAUNCHER, { g: group.id });
        const mine = data.launchableImages.filter((i) => [withSecret.id, without.id].includes(i.id));
        expect(mine).toEqual(
          expect.arrayContaining([
            { id: withSecret.id, pullSecret: { id: secret.id, name: secret.name } },
            { id: without.id, pullSecret: null },
          ]),
        );
      });
      expect(count).toBe(2);
    }
  });

  it('pull secrets with their images batch the same way', async () => {
    const { count } = await app.countStatements(() => app.ok('{ imagePullSecrets { nodes { images { id groups { id } } } } }'));
    expect(count).toBeLessThanOrEqual(3);
  });

  it.each([
    ['selected directly', `{ images(first: 5) { totalCount nodes { id } } }`],
    ['selected through a fragment', `{ images(first: 5) { ...counted } } fragment counted on ImageConnection { ... on ImageConnection { totalCount } nodes { id } }`],
  ])('counts beside the page when totalCount is %s (the COUNT is sent first, not after the page)', async (_how, query) => {
    const { statements } = await app.countStatements(() => app.ok(query));
    const count = statements.findIndex((sql) => /COUNT\(/.test(sql));
    const page = statements.findIndex((sql) => /ORDER BY/.test(sql) && !/COUNT\(/.test(sql));
    expect(count).toBeGreaterThanOrEqual(0);
    expect(count).toBeLessThan(page);
  });

  it('sends no COUNT for a cursor it refuses, even with totalCount asked for', async () => {
    const { statements } = await app.countStatements(() => app.fails('{ images(first: 5, after: "garbage") { totalCount nodes { id } } }'));
    expect(statements).toEqual([]);
  });

  it('sends no COUNT when totalCount is not asked for', async () => {
    const { statements } = await app.countStatements(() => app.ok('{ images(first: 5) { nodes { id } } }'));
    expect(statements.some((sql) => /COUNT\(/.test(sql))).toBe(false);
  });
});
