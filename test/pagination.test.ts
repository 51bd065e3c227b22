import { createGroup, createImage, ImageData } from './helpers/factories';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
let images: ImageData[];

const PAGE = `query Page($orderBy: ImageOrder, $first: Int, $after: String, $last: Int, $before: String) {
  images(orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id name } }
    nodes { id name displayName createdAt updatedAt }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

interface Page {
  totalCount: number;
  edges: { cursor: string; node: { id: string; name: string } }[];
  nodes: { id: string; name: string }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

async function page(variables: Record<string, unknown>): Promise<Page> {
  return (await app.ok<{ images: Page }>(PAGE, variables)).images;
}

beforeAll(async () => {
  app = await startTestApp();
  // Repeated and differently cased display names, so ties and case-insensitive order are exercised.
  const displayNames = ['beta', 'Alpha', 'alpha', 'Gamma', 'beta', 'delta 2', 'Delta 10', 'alpha', 'epsilon', 'Beta', 'zeta', 'eta'];
  images = [];
  for (const [i, displayName] of displayNames.entries()) {
    images.push(await createImage(app, { name: `p${String(i).padStart(2, '0')}-${displayName.toLowerCase().replace(' ', '-')}`, displayName }));
  }
  // Touch a few so updatedAt order differs from createdAt order.
  for (const image of [images[3], images[0], images[7]]) {
    await new Promise((resolve) => setTimeout(resolve, 3));
    const updated = await app.ok<{ updateImage: ImageData }>('mutation($id: ID!) { updateImage(id: $id, input: { description: "touched" }) { updatedAt } }', {
      id: image.id,
    });
    image.updatedAt = updated.updateImage.updatedAt;
  }
});
afterAll(() => app.close());

const orders: [string, (i: ImageData) => string][] = [
  ['NAME', (i) => i.name],
  ['DISPLAY_NAME', (i) => i.displayName.toLowerCase()],
  ['CREATED_AT', (i) => i.createdAt],
  ['UPDATED_AT', (i) => i.updatedAt],
];

function expectedOrder(key: (i: ImageData) => string, direction: 'ASC' | 'DESC'): string[] {
  const sign = direction === 'ASC' ? 1 : -1;
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...images].sort((a, b) => sign * (cmp(key(a), key(b)) || cmp(a.id, b.id))).map((i) => i.name);
}

describe('images pagination', () => {
  describe.each(orders)('ordered by %s', (field, key) => {
    it.each(['ASC', 'DESC'] as const)('walks forward %s page by page through every image exactly once', async (direction) => {
      const orderBy = { field, direction };
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const result: Page = await page({ orderBy, first: 5, after });
        pages++;
        expect(result.totalCount).toBe(images.length);
        expect(result.pageInfo.hasPreviousPage).toBe(after !== null);
        expect(result.edges.map((e) => e.node.id)).toEqual(result.nodes.map((n) => n.id));
        expect(result.pageInfo.startCursor).toBe(result.edges[0]?.cursor ?? null);
        seen.push(...result.nodes.map((n) => n.name));
        if (!result.pageInfo.hasNextPage) break;
        after = result.pageInfo.endCursor;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(expectedOrder(key, direction));
    });

    it.each(['ASC', 'DESC'] as const)('walks backward %s with last/before to the same sequence', async (direction) => {
      const orderBy = { field, direction };
      const seen: string[] = [];
      let before: string | null = null;
      for (;;) {
        const result: Page = await page({ orderBy, last: 5, before });
        expect(result.pageInfo.hasNextPage).toBe(before !== null);
        seen.unshift(...result.nodes.map((n) => n.name));
        if (!result.pageInfo.hasPreviousPage) break;
        before = result.pageInfo.startCursor;
      }
      expect(seen).toEqual(expectedOrder(key, direction));
    });
  });

  it('defaults to NAME ASC and 20 items', async () => {
    const result = await page({});
    expect(result.nodes.map((n) => n.name)).toEqual(expectedOrder((i) => i.name, 'ASC'));
    for (let i = 0; i < 10; i++) await createImage(app, { name: `zz-extra-${i}` });
    const bigger = await page({});
    expect(bigger.nodes).toHaveLength(20);
    expect(bigger.pageInfo.hasNextPage).toBe(true);
    expect(bigger.totalCount).toBe(images.length + 10);
  });

  it('returns an empty page after the last item with correct flags', async () => {
    const all = await page({ first: 100 });
    const past = await page({ first: 5, after: all.pageInfo.endCursor });
    expect(past.nodes).toEqual([]);
    expect(past.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
  });

  it('accepts first: 0 and first: 100', async () => {
    expect((await page({ first: 0 })).nodes).toEqual([]);
    expect((await page({ first: 100 })).nodes.length).toBeGreaterThan(0);
  });

  it.each([
    [{ first: 101 }, 'first'],
    [{ last: 101 }, 'last'],
    [{ first: -1 }, 'first'],
    [{ first: 2, last: 2 }, 'last'],
  ])('refuses %p with BAD_USER_INPUT on %s', async (variables, field) => {
    const error = await app.fails(PAGE, variables);
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field, message: expect.any(String) }] });
  });

  it.each([
    ['not base64 at all!!', 'after'],
    [Buffer.from('{"id":"x"}').toString('base64url'), 'after'],
    [Buffer.from('["k1","NAME:ASC",5,"id"]').toString('base64url'), 'after'],
    [Buffer.from('["k0","NAME:ASC","a","id"]').toString('base64url'), 'before'],
    ['', 'after'],
  ])('refuses the forged cursor %p', async (cursor, field) => {
    const error = await app.fails(PAGE, { [field]: cursor, ...(field === 'before' ? { last: 2 } : { first: 2 }) });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field, message: expect.any(String) }] });
  });

  it('refuses a cursor issued for another ordering (a stale cursor)', async () => {
    const byName = await page({ first: 2 });
    const error = await app.fails(PAGE, { orderBy: { field: 'CREATED_AT', direction: 'ASC' }, first: 2, after: byName.pageInfo.endCursor });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'after', message: expect.stringContaining('another orderBy') }] });
  });

  it('refuses a date cursor whose value is not a date', async () => {
    const forged = Buffer.from(JSON.stringify(['k1', 'CREATED_AT:ASC', 'yesterday', 'x'])).toString('base64url');
    const error = await app.fails(PAGE, { orderBy: { field: 'CREATED_AT', direction: 'ASC' }, first: 2, after: forged });
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('keeps going from a cursor whose image was deleted meanwhile', async () => {
    const first = await page({ first: 3 });
    await app.ok('mutation($id: ID!) { deleteImage(id: $id) }', { id: first.nodes[2].id });
    const next = await page({ first: 3, after: first.pageInfo.endCursor });
    const all = await page({ first: 100 });
    const names = all.nodes.map((n) => n.name);
    expect(next.nodes.map((n) => n.name)).toEqual(names.slice(2, 5));
  });

  it('pages with keyset conditions, never OFFSET', async () => {
    const first = await page({ first: 3 });
    const { statements } = await app.countStatements(() => page({ first: 3, after: first.pageInfo.endCursor }));
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.join('\n')).not.toMatch(/OFFSET/i);
  });

  it('orders by the unique name alone, so the database can walk its unique index; other orders break ties by id', async () => {
    const first = await page({ first: 3 });
    const byName = (await app.countStatements(() => page({ first: 3, after: first.pageInfo.endCursor }))).statements.find((sql) => /ORDER BY/.test(sql)) ?? '';
    // Identifiers are quoted with ` on MySQL and " on SQLite. With only the asked-for columns
    // selected, TypeORM orders by the column's select alias (image_name): the same plan.
    expect(byName).toMatch(/WHERE [`"]\w+[`"]\.[`"]name[`"] > \? ORDER BY [`"]\w+(?:[`"]\.[`"]|_)name[`"] ASC LIMIT/);
    const byDisplayName = (await app.countStatements(() => page({ first: 3, orderBy: { field: 'DISPLAY_NAME', direction: 'ASC' } }))).statements.find((sql) => /ORDER BY/.test(sql)) ?? '';
    expect(byDisplayName).toMatch(/ORDER BY [`"]\w+(?:[`"]\.[`"]|_)displayNameKey[`"] ASC, [`"]\w+(?:[`"]\.[`"]|_)id[`"] ASC LIMIT/);
  });
});

describe('groups pagination', () => {
  it('walks groups with the same cursor rules', async () => {
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await createGroup(app, { name: `pg-${i}`, displayName: `Group ${5 - i}` }));
    const query = `query($after: String) { groups(first: 2, after: $after, orderBy: { field: DISPLAY_NAME, direction: ASC }) {
      nodes { name } pageInfo { hasNextPage endCursor } totalCount } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const data: { groups: { nodes: { name: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string }; totalCount: number } } = await app.ok(query, { after });
      expect(data.groups.totalCount).toBe(5);
      seen.push(...data.groups.nodes.map((n) => n.name));
      if (!data.groups.pageInfo.hasNextPage) break;
      after = data.groups.pageInfo.endCursor;
    }
    expect(seen).toEqual(['pg-4', 'pg-3', 'pg-2', 'pg-1', 'pg-0']);
  });
});
