import { getIntrospectionQuery, getNamedType, GraphQLObjectType, isLeafType, isObjectType } from 'graphql';
import { buildSchema } from '../src/schema';
import { MAX_COMPILED_DOCUMENTS } from '../src/graphql/jit-executor';
import { createGroup, createImage, createPullSecret, uniqueName } from './helpers/factories';
import { Client, GraphQLResponse, startTestApp, TestApp } from './helpers/test-app';

/**
 * graphql-jit (the default engine) and graphql-js (GRAPHQL_EXECUTION=graphql-js, the fallback)
 * must answer every operation alike: the same data, the same errors with the same codes, fields
 * and paths, the same HTTP status. Two servers over one database answer the same requests.
 */
let app: TestApp;
let engines: Record<'jit' | 'graphql-js', (token: string | null) => Client>;
let jitUrl: string;
let interpretedUrl: string;
let adminToken: string;
let memberToken: string;
let image: { id: string; name: string };
let group: { id: string; name: string };
let foreignGroup: { id: string; name: string };

beforeAll(async () => {
  app = await startTestApp();
  const jit = await app.sibling({ GRAPHQL_EXECUTION: 'jit' });
  const interpreted = await app.sibling({ GRAPHQL_EXECUTION: 'graphql-js' });
  engines = { jit: jit.as, 'graphql-js': interpreted.as };
  jitUrl = jit.url;
  interpretedUrl = interpreted.url;
  group = await createGroup(app);
  foreignGroup = await createGroup(app);
  const secret = await createPullSecret(app);
  image = await createImage(app, { type: 'UNIVERSAL', urlForGpu: 'nvidia/cuda:12', pullSecretId: secret.id, groupIds: [group.id, foreignGroup.id] });
  await createImage(app, { type: 'GPU', global: true, description: 'line\u2028separator "quoted" `tick` ${x}' });
  await createImage(app, { type: 'CPU', groupIds: [foreignGroup.id] });
  adminToken = await app.mint({ sub: 'engines-admin', admin: true });
  memberToken = await app.mint({ sub: 'engines-member', groups: [group.name] });
});
afterAll(() => app.close());

/**
 * The answers of both engines. The jit server runs a document's first request on graphql-js and
 * compiles it for the second, so it is asked twice (a comment makes the text new to it each time
 * `both` is called) and both of its answers must equal graphql-js's.
 */
let calls = 0;
async function both(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse> {
  const text = `${query}\n# ${++calls}`;
  const interpreted = await engines['graphql-js'](token).request(text, variables);
  const firstRun = await engines.jit(token).request(text, variables);
  const compiled = await engines.jit(token).request(text, variables);
  const comparable = ({ status, data, errors }: GraphQLResponse) => ({ status, data, errors });
  expect(comparable(firstRun)).toEqual(comparable(interpreted));
  expect(comparable(compiled)).toEqual(comparable(interpreted));
  return compiled;
}

const IMAGE_FIELDS = `id name displayName description type url urlForGpu cpu: urlFor(gpu: false) gpu: urlFor(gpu: true)
  global enabled version createdAt updatedAt createdBy updatedBy pullSecret { id name registryHost } groups { id name images { name } }`;

describe('the same answers from graphql-jit and graphql-js', () => {
  it('a page of images with every field, nested relations, aliases and __typename', async () => {
    const response = await both(adminToken, `query Page($first: Int!) { __typename images(first: $first, orderBy: { field: NAME, direction: DESC }) {
      __typename totalCount nodes { __typename ${IMAGE_FIELDS} } edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`, { first: 3 });
    expect((response.data as { images: { nodes: unknown[] } }).images.nodes).toHaveLength(3);
  });

  // graphql-jit runs with leaf serialization off (src/graphql/jit-executor.ts): built-in scalars
  // and enums go out as resolvers return them. graphql-js checks and converts each one, so the same
  // answer from both means every leaf already had its JSON type. Every field without arguments of
  // every type reached from a page of images (two levels deep), groups, pull secrets and the audit trail.
  it('every field without arguments of images, groups, pull secrets and audit events', async () => {
    await createImage(app, { type: 'GPU', enabled: false, groupIds: [group.id] });
    const schema = buildSchema();
    const selection = (type: GraphQLObjectType, depth: number): string =>
      Object.values(type.getFields())
        .filter((field) => field.args.length === 0)
        .map((field) => {
          const named = getNamedType(field.type);
          if (isLeafType(named)) return field.name;
          if (isObjectType(named) && depth > 0) return `${field.name} { ${selection(named, depth - 1)} }`;
          return '';
        })
        .filter(Boolean)
        .join(' ');
    const of = (name: string, depth: number) => selection(schema.getType(name) as GraphQLObjectType, depth);
    const pages = {
      images: `images(first: 5) { totalCount nodes { ${of('Image', 2)} cpu: availabilityFor(gpu: false) { ${of('ImageReferenceAvailability', 1)} } } pageInfo { ${of('PageInfo', 0)} } }`,
      groups: `groups(first: 5) { totalCount nodes { ${of('Group', 1)} } }`,
      imagePullSecrets: `imagePullSecrets(first: 5) { totalCount nodes { ${of('ImagePullSecret', 1)} } }`,
      auditEvents: `auditEvents(first: 5) { totalCount nodes { ${of('AuditEvent', 1)} } }`,
    };
    for (const [root, page] of Object.entries(pages)) {
      const response = await both(adminToken, `{ ${page} }`);
      expect(response.errors).toBeUndefined();
      expect((response.data as Record<string, { nodes: unknown[] }>)[root].nodes.length).toBeGreaterThan(0);
    }
    const images = (await both(adminToken, `{ ${pages.images} }`)).data as { images: { nodes: { enabled: boolean; version: number }[] } };
    expect(images.images.nodes.some((node) => node.enabled === false)).toBe(true);
    expect(images.images.nodes.every((node) => Number.isInteger(node.version))).toBe(true);
  });

  it('what a member may see: the access rules run the same in both', async () => {
    const response = await both(memberToken, `{ images(first: 50) { nodes { name groups { name } } } launchableImages(groupId: "${group.id}", gpu: true) { name urlFor(gpu: true) } }`);
    const names = (response.data as { images: { nodes: { name: string }[] } }).images.nodes.map((node) => node.name);
    expect(names).toContain(image.name);
    await both(memberToken, `{ launchableImages(groupId: "${foreignGroup.id}", gpu: false) { name } }`);
    await both(memberToken, '{ imagePullSecrets(first: 5) { nodes { name } } }');
  });

  it('federation: _entities across types, unknown ids, type names that are no entity, and _service', async () => {
    const response = await both(
      adminToken,
      `query E($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Image { name groups { name } } ... on Group { name images { name } } } }`,
      { r: [{ __typename: 'Image', id: image.id }, { __typename: 'Group', id: group.id }, { __typename: 'Image', id: 'no-such-id' }, { __typename: 'Image', name: image.name }] },
    );
    expect((response.data as { _entities: unknown[] })._entities).toHaveLength(4);
    const refused = await both(adminToken, 'query E($r: [_Any!]!) { _entities(representations: $r) { __typename } }', { r: [{ __typename: 'ImageConnection', id: 'x' }] });
    expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    await both(adminToken, '{ _service { sdl } }');
  });

  it('introspection, in full', async () => {
    const response = await both(adminToken, getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }));
    expect((response.data as { __schema: { types: unknown[] } }).__schema.types.length).toBeGreaterThan(20);
  });

  it('@include and @skip, fragments and variables with defaults', async () => {
    const query = `query D($withGroups: Boolean!, $skipUrl: Boolean = true, $name: String = "${image.name}") {
      image(name: $name) { ...Basics groups @include(if: $withGroups) { name } url @skip(if: $skipUrl) } }
      fragment Basics on Image { id name ... on Image { type } }`;
    await both(adminToken, query, { withGroups: true });
    await both(adminToken, query, { withGroups: false, skipUrl: false });
  });

  it('variables the interpreter refuses: wrong enum, wrong type, missing, null for non-null, unknown input field', async () => {
    const list = 'query L($f: ImageFilter, $first: Int) { images(filter: $f, first: $first) { totalCount } }';
    for (const variables of [{ f: { types: ['TPU'] } }, { first: 'ten' }, { f: { nope: 1 } }, { f: { types: [null] } }, { first: 1.5 }]) {
      const response = await both(adminToken, list, variables);
      expect(response.status).toBe(400);
      expect(response.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
    const missing = await both(adminToken, 'query M($id: ID!) { image(id: $id) { id } }', {});
    expect(missing.errors?.[0].extensions?.fields).toEqual([expect.objectContaining({ field: 'id' })]);
  });

  it('errors raised by resolvers and services: codes, fields, paths, partial data', async () => {
    // launchableImages is non-null: its error nulls the whole answer, in both.
    const bubbled = await both(adminToken, `{ a: image(name: "${image.name}") { name } b: launchableImages(groupId: "00000000-0000-4000-8000-000000000000", gpu: true) { name } }`);
    expect(bubbled.data).toBeNull();
    expect(bubbled.errors?.[0]).toMatchObject({ path: ['b'], extensions: { code: 'NOT_FOUND', field: 'groupId' } });
    const partial = await both(memberToken, `{ a: image(name: "${image.name}") { name } b: imagePullSecret(name: "x") { name } }`);
    expect(partial.data).toEqual({ a: { name: image.name }, b: null });
    expect(partial.errors?.[0]).toMatchObject({ path: ['b'], extensions: { code: 'FORBIDDEN' } });
    const invalid = await both(adminToken, 'mutation { createImage(input: { name: "Not A Valid Name", url: "" }) { id } }');
    expect(invalid.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const duplicate = await both(adminToken, `mutation { createImage(input: { name: "${image.name}", url: "busybox" }) { id } }`);
    expect(duplicate.errors?.[0].extensions?.code).toBe('CONFLICT');
    const forbidden = await both(memberToken, `mutation { deleteImage(id: "${image.id}") }`);
    expect(forbidden.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const anonymous = await both(null, '{ images(first: 1) { totalCount } }');
    expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('literals that would break generated code are only data', async () => {
    // graphql-jit compiles each operation to JavaScript; argument literals must stay values.
    for (const hostile of ['"); process.exit(1); ("', '`${process.exit(1)}`', '\u2028\u2029', "'; throw 1; '", '</script>', '\\"]]}}', 'a\nb']) {
      const literal = JSON.stringify(hostile);
      const response = await both(adminToken, `{ image(name: ${literal}) { id } images(first: 1, filter: { search: ${literal} }) { totalCount } }`);
      // `both` has checked the engines agree; a search may match (the blank one matches all).
      expect(response.data).toEqual({ image: null, images: { totalCount: expect.any(Number) } });
    }
    expect((await app.ok<{ images: { totalCount: number } }>('{ images { totalCount } }')).images.totalCount).toBeGreaterThanOrEqual(3);
  });

  it('the same mutation results from each engine, however often the jit server runs it', async () => {
    const mutation = 'mutation C($input: CreateImageInput!) { createImage(input: $input) { name displayName type global version groups { name } pullSecret { name } } }';
    const run = async (engine: keyof typeof engines, name: string) => {
      const response = await engines[engine](adminToken).request(mutation, { input: { name, url: 'busybox', type: 'GPU', groupIds: [group.id] } });
      const created = (response.data as { createImage: unknown }).createImage;
      return JSON.parse(JSON.stringify(created).replaceAll(name, 'NAME')) as unknown;
    };
    const expected = await run('graphql-js', uniqueName('gjs'));
    expect(await run('jit', uniqueName('jit'))).toEqual(expected);
    expect(await run('jit', uniqueName('jit'))).toEqual(expected);
  });
});

const compiledCount = async () => {
  const text = await (await fetch(jitUrl.replace('/graphql', '/metrics'))).text();
  return Number(/^image_catalog_graphql_compiled_operations_total (\d+)$/m.exec(text)?.[1]);
};

it('compiles an operation on its second run, once, and counts it on /metrics', async () => {
  const compiled = compiledCount;
  const client = engines.jit(adminToken);
  const query = `query Once { image(name: "${image.name}") { name } } # ${uniqueName('text')}`;
  const before = await compiled();
  await client.ok(query);
  expect(await compiled()).toBe(before);
  await client.ok(query);
  expect(await compiled()).toBe(before + 1);
  await client.ok(query);
  await client.ok(query.replace('Once', 'Twice'));
  expect(await compiled()).toBe(before + 1);
});

describe('what runs on graphql-js even on the jit server', () => {
  const post = (url: string, body: object) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify(body) });

  it('stops a mutation at the first root field that fails, as the spec says, however often it is sent', async () => {
    for (let run = 0; run < 3; run++) {
      const name = uniqueName('after-failure');
      const response = await engines.jit(adminToken).request(
        'mutation Stop($name: String!) { a: deleteImage(id: "00000000-0000-4000-8000-000000000000") b: createGroup(input: { name: $name }) { name } }',
        { name },
      );
      expect(response.errors?.[0]).toMatchObject({ path: ['a'], extensions: { code: 'NOT_FOUND' } });
      // graphql-jit ran `b` after it had answered: give a stray write the time to land.
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await app.rowCount('user_groups', 'name = ?', [name])).toBe(0);
    }
  });

  it('answers documents whose operation cannot be picked as graphql-js does', async () => {
    const document = `query A { images(first: 1) { totalCount } } query B { groups(first: 1) { totalCount } } # ${uniqueName('ops')}`;
    for (const body of [{ query: document }, { query: document, operationName: 'C' }]) {
      const answers = [];
      for (const url of [jitUrl, jitUrl, interpretedUrl]) {
        const response = await post(url, body);
        answers.push({ status: response.status, body: await response.json() });
      }
      expect(answers[0]).toEqual(answers[2]);
      expect(answers[1]).toEqual(answers[2]);
      expect(answers[0]).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }] } });
    }
    const picked = await (await post(jitUrl, { query: document, operationName: 'B' })).json();
    expect(picked).toEqual({ data: { groups: { totalCount: expect.any(Number) } } });
  });

  it('sends Cache-Control: no-store with every answer, from both engines', async () => {
    for (const url of [jitUrl, interpretedUrl]) {
      expect((await post(url, { query: '{ images(first: 1) { totalCount } }' })).headers.get('cache-control')).toBe('no-store');
      expect((await post(url, { query: '{ nope }' })).headers.get('cache-control')).toBe('no-store');
    }
  });

  it(`keeps at most ${MAX_COMPILED_DOCUMENTS} compiled documents, dropping the least recently used`, async () => {
    const client = engines.jit(adminToken);
    const texts = Array.from({ length: MAX_COMPILED_DOCUMENTS + 1 }, (_, i) => `{ images(first: 1) { totalCount } } # ${i} ${uniqueName('lru')}`);
    const before = await compiledCount();
    for (const text of texts) {
      await client.ok(text);
      await client.ok(text);
    }
    expect(await compiledCount()).toBe(before + texts.length);
    // The first text was the least recently used: it was dropped, and compiles again.
    await client.ok(texts[0]);
    expect(await compiledCount()).toBe(before + texts.length + 1);
    // The last one is still there.
    await client.ok(texts[texts.length - 1]);
    expect(await compiledCount()).toBe(before + texts.length + 1);
  });
});

it('GRAPHQL_EXECUTION accepts jit and graphql-js only, and names itself when it refuses', async () => {
  await expect(app.sibling({ GRAPHQL_EXECUTION: 'fast' })).rejects.toThrow(/GRAPHQL_EXECUTION must be one of jit, graphql-js/);
});
