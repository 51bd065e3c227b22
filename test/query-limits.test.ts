import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lexer, Source, TokenKind } from 'graphql';
import { loadConfig, ConfigError } from '../src/config';
import { DEFAULT_QUERY_LIMITS, LIMIT_SETTINGS } from '../src/graphql/query-limits';
import { createGroup, createImage } from './helpers/factories';
import { GraphQLErrorShape, startTestApp, TestApp } from './helpers/test-app';

/** `image(id:) { groups { images { ... { id } } } }`, `depth` fields deep counting `image` and the leaf `id` (as graphql-armor counts). */
function nestedQuery(depth: number): string {
  let selection = 'id';
  for (let level = depth - 2; level >= 1; level--) selection = `${level % 2 === 1 ? 'groups' : 'images'} { ${selection} }`;
  return `query Deep($id: ID!) { image(id: $id) { ${selection} } }`;
}

/** Tokens as graphql-js counts them for `maxTokens` (the end of the document is not one). */
function countTokens(document: string): number {
  const lexer = new Lexer(new Source(document));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

function expectLimitError(error: GraphQLErrorShape, limit: string, setting: string, max: number): void {
  expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit, max, fields: [{ field: 'query', message: expect.any(String) }] });
  expect(error.message).toContain(setting);
  expect(error.message).toContain(String(max));
  expect(error.extensions).not.toHaveProperty('http');
  expect(error.extensions).not.toHaveProperty('stacktrace');
}

async function post(app: TestApp, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const response = await fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await app.mint({ sub: 'test-admin', admin: true })}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('query limits with their defaults', () => {
  let app: TestApp;
  let imageId: string;
  beforeAll(async () => {
    // The cost limit would stop nested lists long before the depth limit; raised here so depth alone decides.
    app = await startTestApp({ env: { GRAPHQL_MAX_COST: String(Number.MAX_SAFE_INTEGER) } });
    imageId = (await createImage(app)).id;
  });
  afterAll(() => app.close());

  it('depth: 10 levels run, 11 are refused before anything runs, with HTTP 400', async () => {
    await app.ok(nestedQuery(10), { id: imageId });
    const response = await app.request(nestedQuery(11), { id: imageId });
    expect(response.status).toBe(400);
    expect(response.data).toBeUndefined();
    expectLimitError(response.errors![0], 'maxDepth', 'GRAPHQL_MAX_DEPTH', 10);
    expect(response.errors![0].extensions?.found).toBe(11);
  });

  it('depth counts through fragments too', async () => {
    const query = `query Deep($id: ID!) { image(id: $id) { ...G } }
      fragment G on Image { groups { images { groups { images { groups { images { groups { images { groups { images { id } } } } } } } } } } }`;
    expectLimitError(await app.fails(query, { id: imageId }), 'maxDepth', 'GRAPHQL_MAX_DEPTH', 10);
  });

  it('aliases: 30 run, 31 are refused', async () => {
    const aliases = (n: number) => `query A($id: ID!) { image(id: $id) { ${Array.from({ length: n }, (_, i) => `a${i}: name`).join(' ')} } }`;
    await app.ok(aliases(30), { id: imageId });
    const error = await app.fails(aliases(31), { id: imageId });
    expectLimitError(error, 'maxAliases', 'GRAPHQL_MAX_ALIASES', 30);
    expect(error.extensions?.found).toBe(31);
  });

  it('an aliased mutation bomb is refused whole: not one of its mutations runs', async () => {
    const before = await app.rowCount('user_groups');
    const mutations = Array.from({ length: 31 }, (_, i) => `g${i}: createGroup(input: { name: "bomb-${i}" }) { id }`).join(' ');
    expectLimitError(await app.fails(`mutation { ${mutations} }`), 'maxAliases', 'GRAPHQL_MAX_ALIASES', 30);
    expect(await app.rowCount('user_groups')).toBe(before);
  });

  it('directives: 20 run, 21 are refused', async () => {
    const directives = (n: number) => `query D($id: ID!) { image(id: $id) { ${Array.from({ length: n }, () => 'name @include(if: true)').join(' ')} } }`;
    await app.ok(directives(20), { id: imageId });
    const error = await app.fails(directives(21), { id: imageId });
    expectLimitError(error, 'maxDirectives', 'GRAPHQL_MAX_DIRECTIVES', 20);
    expect(error.extensions?.found).toBe(21);
  });

  it('tokens: a document over 2000 tokens is refused while parsing, with HTTP 400', async () => {
    // Tokens in an argument list: thousands of repeated fields would meet graphql-js's own
    // budget for comparing overlapping fields first.
    const query = (values: number) => `{ images(filter: { types: [${'CPU '.repeat(values)}] }) { nodes { id } } }`;
    const overhead = countTokens(query(0));
    expect(countTokens(query(2000 - overhead))).toBe(2000);
    await app.ok(query(2000 - overhead));
    const response = await app.request(query(2001 - overhead));
    expect(response.status).toBe(400);
    expectLimitError(response.errors![0], 'maxTokens', 'GRAPHQL_MAX_TOKENS', 2000);
  });
});

describe('the cost limit counts list sizes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
    const group = await createGroup(app);
    await createImage(app, { groupIds: [group.id] });
  });
  afterAll(() => app.close());

  it('an admin page of 100 images with groups and pull secret fits (1 + 100 + 100 x 10 groups + 100 secrets)', async () => {
    const data = await app.ok<{ images: { nodes: unknown[] } }>('{ images(first: 100) { nodes { id name groups { id name } pullSecret { name } } } }');
    expect(data.images.nodes).toHaveLength(1);
  });

  it('a fan-out through nested lists is refused with its cost, before any SQL runs', async () => {
    const query = '{ images(first: 100) { nodes { groups { images { groups { id } } } } } }';
    const { count, statements } = await app.countStatements(async () => {
      const response = await app.request(query);
      expect(response.status).toBe(400);
      const error = response.errors![0];
      expectLimitError(error, 'maxCost', 'GRAPHQL_MAX_COST', 20_000);
      // 1 connection + 100 images + 100 x 10 groups + 1,000 x 50 images + 50,000 x 10 groups.
      expect(error.extensions?.found).toBe(551_101);
    });
    expect({ count, statements }).toEqual({ count: 0, statements: [] });
  });

  it('first and last given through variables count as written', async () => {
    const query = 'query Q($n: Int, $m: Int) { images(first: $n) { nodes { groups { images { id } } } } groups(last: $m) { nodes { id } } }';
    // 1 + 5 + 50 + 2,500 and 1 + 10.
    await app.ok(query, { n: 5, m: 10 });
    const error = await app.fails(query, { n: 100, m: 10 });
    expectLimitError(error, 'maxCost', 'GRAPHQL_MAX_COST', 20_000);
    expect(error.extensions?.found).toBe(1 + 100 + 1_000 + 50_000 + 1 + 10);
  });

  it('a variable\'s default value counts, as execution would use it', async () => {
    const error = await app.fails('query Q($n: Int = 100) { images(first: $n) { nodes { groups { images { id } } } } }');
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxCost', found: 1 + 100 + 1_000 + 50_000 });
  });

  it('fragments spreading each other twice over are costed in linear time (and refused)', async () => {
    // Fragment k spreads fragment k-1 twice: 2^40 ids. Walked spread by spread, this would take days.
    let query = '{ images(first: 1) { nodes { groups { ...F40 } } } } fragment F0 on Group { images { id } }';
    for (let k = 1; k <= 40; k++) query += ` fragment F${k} on Group { ...F${k - 1} ...F${k - 1} }`;
    const error = await app.fails(query);
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxCost' });
    expect(error.extensions?.found).toBeGreaterThan(2 ** 40);
  });

  it('without first or last a page counts as the default page size (20)', async () => {
    const error = await app.fails('{ images { nodes { groups { images { groups { id } } } } } }');
    expect(error.extensions?.found).toBe(1 + 20 + 200 + 10_000 + 100_000);
  });

  it('_entities counts its representations: a gateway\'s 1,000 images with their groups fit, 2,000 do not', async () => {
    const query = 'query E($r: [_Any!]!) { _entities(representations: $r) { ... on Image { id groups { name } } } }';
    const representations = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'Image', id: `missing-${i}` }));
    await app.ok(query, { r: representations(1_000) });
    const error = await app.fails(query, { r: representations(2_000) });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxCost', found: 2_000 + 2_000 * 10 });
  });

  it('a launcher\'s list counts as 100 images', async () => {
    const query = 'query L($g: ID!) { launchableImages(groupId: $g, gpu: false) { id urlFor(gpu: false) groups { name } } }';
    const error = await app.fails(query.replace('groups { name }', 'groups { images { groups { name } } }'), { g: 'x' });
    expect(error.extensions?.found).toBe(100 + 1_000 + 50_000 + 500_000);
  });

  it('introspection does not count: GraphiQL\'s schema query runs', async () => {
    await app.ok('{ __schema { types { name fields { name type { name ofType { name ofType { name } } } } } } }');
  });
});

describe('limit settings', () => {
  let app: TestApp;
  let imageId: string;
  beforeAll(async () => {
    app = await startTestApp({
      env: { GRAPHQL_MAX_DEPTH: '3', GRAPHQL_MAX_ALIASES: '2', GRAPHQL_MAX_DIRECTIVES: '1', GRAPHQL_MAX_TOKENS: '40', GRAPHQL_MAX_COST: '30' },
    });
    // Limits are checked before anything runs, so an id that matches nothing does as well.
    imageId = '00000000-0000-0000-0000-000000000000';
  });
  afterAll(() => app.close());

  it('each limit follows its setting', async () => {
    await app.ok(nestedQuery(3), { id: imageId });
    expectLimitError(await app.fails(nestedQuery(4), { id: imageId }), 'maxDepth', 'GRAPHQL_MAX_DEPTH', 3);
    expectLimitError(await app.fails('query A($id: ID!) { image(id: $id) { a: name b: name c: name } }', { id: imageId }), 'maxAliases', 'GRAPHQL_MAX_ALIASES', 2);
    expectLimitError(
      await app.fails('query D($id: ID!) { image(id: $id) { name @include(if: true) id @skip(if: false) } }', { id: imageId }),
      'maxDirectives',
      'GRAPHQL_MAX_DIRECTIVES',
      1,
    );
    expectLimitError(await app.fails(`query T($id: ID!) { image(id: $id) { ${'name '.repeat(30)} } }`, { id: imageId }), 'maxTokens', 'GRAPHQL_MAX_TOKENS', 40);
    await app.ok('{ images(first: 29) { nodes { id } } }');
    expectLimitError(await app.fails('{ images(first: 30) { nodes { id } } }'), 'maxCost', 'GRAPHQL_MAX_COST', 30);
  });

  it('a setting that is not a positive whole number stops the start with its name', () => {
    for (const value of ['0', '-1', 'ten', '2.5']) {
      expect(() => loadConfig({ GRAPHQL_MAX_DEPTH: value })).toThrow(new ConfigError(`GRAPHQL_MAX_DEPTH must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}, got "${value}"`));
    }
  });
});

describe('HTTP protections', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('GRAPHQL_MAX_BODY_BYTES sets the body limit: 413 beyond it', async () => {
    const small = await startTestApp({ env: { GRAPHQL_MAX_BODY_BYTES: '2048' } });
    try {
      const padded = (bytes: number) => ({ query: '{ __typename }', variables: { pad: 'x'.repeat(bytes - 50) } });
      expect((await post(small, padded(2_000))).status).toBe(200);
      expect(await post(small, padded(3_000))).toEqual({
        status: 413,
        json: { errors: [{ message: 'The request body is larger than 2048 bytes (set by GRAPHQL_MAX_BODY_BYTES)', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] },
      });
    } finally {
      await small.close();
    }
  });

  it('batched requests (a JSON array) are refused unless enabled', async () => {
    const { status, json } = await post(app, [{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    expect(status).toBe(400);
    expect(JSON.stringify(json)).toMatch(/batch/i);
  });

  it('GRAPHQL_BATCHING=true allows them', async () => {
    const batching = await startTestApp({ env: { GRAPHQL_BATCHING: 'true' } });
    try {
      const { status, json } = await post(batching, [{ query: '{ __typename }' }, { query: '{ q: __typename }' }]);
      expect(status).toBe(200);
      expect(json).toEqual([{ data: { __typename: 'Query' } }, { data: { q: 'Query' } }]);
      // At most GRAPHQL_MAX_BATCH (10) operations, each within the limits on its own.
      expect((await post(batching, Array.from({ length: 10 }, () => ({ query: '{ __typename }' })))).status).toBe(200);
      const tooMany = await post(batching, Array.from({ length: 11 }, () => ({ query: '{ __typename }' })));
      expect(tooMany).toEqual({
        status: 400,
        json: { errors: [{ message: expect.stringContaining('GRAPHQL_MAX_BATCH'), extensions: { code: 'BAD_REQUEST', limit: 'maxBatch', max: 10, found: 11 } }] },
      });
      const overCost = await post(batching, [{ query: '{ __typename }' }, { query: '{ images(first: 100) { nodes { groups { images { groups { id } } } } } }' }]);
      expect(overCost.json).toEqual([{ data: { __typename: 'Query' } }, { errors: [expect.objectContaining({ extensions: expect.objectContaining({ limit: 'maxCost' }) })] }]);
    } finally {
      await batching.close();
    }
  });

  it('a large answer goes out whole: its Content-Length counts its UTF-8 bytes, its type names the charset, HEAD gets no body', async () => {
    const token = await app.mint({ sub: 'test-admin', admin: true });
    // Over 1,000 characters (where express would have copied the answer into a Buffer), with characters of 2, 3 and 4 bytes.
    const description = 'é€😀'.repeat(300);
    const image = await createImage(app, { description });
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query($name: String!) { image(name: $name) { description } }', variables: { name: image.name } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBeGreaterThan(2000);
    expect(Number(response.headers.get('content-length'))).toBe(body.length);
    expect(JSON.parse(body.toString('utf8'))).toEqual({ data: { image: { description } } });
    const head = await fetch(`${app.url}?query=${encodeURIComponent('{ __typename }')}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' } });
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('CSRF prevention: a simple request (GET without a preflight header, or text/plain) is refused', async () => {
    const token = await app.mint({ sub: 'test-admin', admin: true });
    const get = await fetch(`${app.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    expect(get.status).toBe(400);
    expect(await get.text()).toMatch(/CSRF/);
    const plain = await fetch(app.url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: '{"query":"{ __typename }"}' });
    expect(plain.status).toBe(400);
    const preflighted = await fetch(`${app.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(await preflighted.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('introspection and field suggestions', () => {
  const TYPO = '{ images { nodes { nme } } }';
  const INTROSPECTION = '{ __schema { queryType { name } } }';

  it('in development: introspection is on and everyone gets "Did you mean"', async () => {
    const app = await startTestApp();
    try {
      await app.ok(INTROSPECTION);
      const member = await app.caller({ sub: 'member', groups: [] });
      expect((await member.fails(TYPO)).message).toBe('Cannot query field "nme" on type "Image". Did you mean "name"?');
    } finally {
      await app.close();
    }
  });

  describe('in production', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ env: { NODE_ENV: 'production' } });
    });
    afterAll(() => app.close());

    it('introspection is off, while the federation SDL (_service) stays available to gateways', async () => {
      const error = await app.fails(INTROSPECTION);
      expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(error.message).toMatch(/introspection/i);
      const data = await app.ok<{ _service: { sdl: string } }>('{ _service { sdl } }');
      expect(data._service.sdl).toContain('type Image');
    });

    it('callers who are not admins get no suggestions; admins do', async () => {
      const member = await app.caller({ sub: 'member', groups: [] });
      const hidden = await member.fails(TYPO);
      expect(hidden.message).toBe('Cannot query field "nme" on type "Image".');
      expect(hidden.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const argument = await member.fails('{ images(frist: 1) { nodes { id } } }');
      expect(argument.message).not.toMatch(/Did you mean/);
      expect((await app.fails(TYPO)).message).toBe('Cannot query field "nme" on type "Image". Did you mean "name"?');
    });

    it('variable errors keep their field and path for members, without hints', async () => {
      const member = await app.caller({ sub: 'member', groups: [] });
      const UNKNOWN_FIELD = ['query($f: ImageFilter) { images(filter: $f) { nodes { id } } }', { f: { serch: 'a' } }] as const;
      const BAD_ENUM = ['query($t: [ImageType!]) { images(filter: { types: $t }) { nodes { id } } }', { t: ['GPX'] }] as const;
      const unknownField = await member.fails(...UNKNOWN_FIELD);
      expect(unknownField.extensions?.fields).toEqual([{ field: 'serch', message: expect.stringContaining('Field "serch" is not defined by type "ImageFilter"') }]);
      const badEnum = await member.fails(...BAD_ENUM);
      expect(badEnum.extensions?.fields).toEqual([{ field: 't[0]', message: expect.stringContaining('ImageType') }]);
      expect([unknownField, badEnum]).toEqual([await app.fails(...UNKNOWN_FIELD), await app.fails(...BAD_ENUM)]);
      for (const error of [unknownField, badEnum]) expect(JSON.stringify(error)).not.toMatch(/Did you mean/);
    });

    it('GRAPHQL_INTROSPECTION=true turns introspection on in production', async () => {
      const open = await startTestApp({ env: { NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' } });
      try {
        await open.ok(INTROSPECTION);
      } finally {
        await open.close();
      }
    });
  });
});

describe('the README', () => {
  it('lists every limit setting with its default', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    for (const [limit, setting] of Object.entries(LIMIT_SETTINGS)) {
      expect(readme).toContain(`| \`${setting}\` | \`${DEFAULT_QUERY_LIMITS[limit as keyof typeof DEFAULT_QUERY_LIMITS]}\` |`);
    }
  });
});
