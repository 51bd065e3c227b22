import http from 'node:http';
import { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import express from 'express';
import { parse } from 'graphql';
import { buildSchema } from '../src/schema';
import { createGroup, createImage, createPullSecret, GroupData, ImageData, PullSecretData } from './helpers/factories';
import { Client, startTestApp, TestApp } from './helpers/test-app';

const ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Image { id name groups { name } }
    ... on Group { id name }
    ... on ImagePullSecret { id name }
  }
}`;

let app: TestApp;
let group: GroupData;
let hiddenGroup: GroupData;
let secret: PullSecretData;
let images: ImageData[];
let hidden: ImageData;
let member: Client;

beforeAll(async () => {
  app = await startTestApp();
  group = await createGroup(app, { name: 'fed-team' });
  hiddenGroup = await createGroup(app, { name: 'fed-other' });
  secret = await createPullSecret(app);
  images = [];
  for (let i = 0; i < 12; i++) {
    images.push(await createImage(app, { name: `fed-${String(i).padStart(2, '0')}`, groupIds: [group.id], pullSecretId: i % 2 ? secret.id : null }));
  }
  hidden = await createImage(app, { name: 'fed-hidden', groupIds: [hiddenGroup.id] });
  member = await app.caller({ sub: 'fed-member', groups: ['fed-team'] });
});
afterAll(() => app.close());

type Entities = { _entities: ({ id: string; name: string; groups?: { name: string }[] } | null)[] };

describe('the subgraph', () => {
  it('publishes its SDL with the entity keys through _service', async () => {
    const data = await app.ok<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(data._service.sdl).toMatch(/type Image\s+@key\(fields: "id"\)\s+@key\(fields: "name"\)\s*\{/);
    expect(data._service.sdl).toMatch(/type Group\s+@key\(fields: "id"\)\s+@key\(fields: "name"\)\s*\{/);
    expect(data._service.sdl).toMatch(/type ImagePullSecret\s+@key\(fields: "id"\)\s*\{/);
  });

  it('resolves images by id and by name, groups and pull secrets, in the order asked, null for unknown ones', async () => {
    const data = await app.ok<Entities>(ENTITIES, {
      representations: [
        { __typename: 'Image', id: images[3].id },
        { __typename: 'Image', name: 'FED-05' },
        { __typename: 'Group', name: 'fed-team' },
        { __typename: 'ImagePullSecret', id: secret.id },
        { __typename: 'Image', id: '00000000-0000-4000-8000-000000000000' },
      ],
    });
    expect(data._entities).toEqual([
      { id: images[3].id, name: 'fed-03', groups: [{ name: 'fed-team' }] },
      { id: images[5].id, name: 'fed-05', groups: [{ name: 'fed-team' }] },
      { id: group.id, name: 'fed-team' },
      { id: secret.id, name: secret.name },
      null,
    ]);
  });

  it('resolves a reference whose key is not a string to null, without an error', async () => {
    const response = await app.request<Entities>(ENTITIES, {
      representations: [
        { __typename: 'Image', name: 5 },
        { __typename: 'Image', id: { id: 1 } },
        { __typename: 'Group', id: [group.id] },
        { __typename: 'Image', id: images[0].id },
      ],
    });
    expect(response.errors).toBeUndefined();
    expect(response.data?._entities).toEqual([null, null, null, expect.objectContaining({ id: images[0].id })]);
    expect(app.serverErrors).toEqual([]);
  });

  it('refuses representations that name no entity type with BAD_USER_INPUT, without naming types that exist', async () => {
    const response = await app.request<Entities>(ENTITIES, {
      representations: [{ __typename: 'Imag', id: 'x' }, { id: 'x' }, 'str', { __typename: 'ImagePullSecretEdge' }, { __typename: 'Image', id: images[0].id }],
    });
    expect(response.data).toBeNull();
    expect(response.errors).toHaveLength(1);
    const [error] = response.errors!;
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.extensions?.fields?.map((f) => f.field)).toEqual([0, 1, 2, 3].map((i) => `representations[${i}].__typename`));
    expect(response.text).not.toContain('Edge');
    expect(app.serverErrors).toEqual([]);
  });

  it.each([10, 500])('resolves %i image references in a constant number of statements', async (count) => {
    const representations = Array.from({ length: count }, (_, i) => ({ __typename: 'Image', id: images[i % images.length].id }));
    const { count: statements } = await app.countStatements(async () => {
      const data = await app.ok<Entities>(ENTITIES, { representations });
      expect(data._entities).toHaveLength(count);
      expect(data._entities.every((e) => e?.groups?.[0].name === 'fed-team')).toBe(true);
    });
    expect(statements).toBeLessThanOrEqual(2);
  });

  it('applies the access rules to references: a member gets null for what it may not see', async () => {
    const data = await member.ok<Entities>(ENTITIES, {
      representations: [
        { __typename: 'Image', id: hidden.id },
        { __typename: 'Image', name: 'fed-hidden' },
        { __typename: 'Group', id: hiddenGroup.id },
        { __typename: 'Image', id: images[0].id },
        { __typename: 'ImagePullSecret', id: secret.id },
      ],
    });
    expect(data._entities).toEqual([null, null, null, { id: images[0].id, name: 'fed-00', groups: [{ name: 'fed-team' }] }, { id: secret.id, name: secret.name }]);
    const detail = await member.request(`query($r: [_Any!]!) { _entities(representations: $r) { ... on ImagePullSecret { username } } }`, {
      r: [{ __typename: 'ImagePullSecret', id: secret.id }],
    });
    expect(detail.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(detail.text).not.toContain('robot');
  });

  it('refuses _entities without a token', async () => {
    const response = await app.as(null).request(ENTITIES, { representations: [{ __typename: 'Image', id: images[0].id }] });
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('behind an Apollo gateway, with a notebooks subgraph', () => {
  // A second subgraph as another team would write it: notebooks that reference our images by id,
  // and a notebooks field it adds to Image.
  const notebooksSdl = `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
    type Notebook @key(fields: "id") { id: ID! name: String! image: Image }
    type Image @key(fields: "id") { id: ID! notebooks: [Notebook!]! }
    type Query { notebooks: [Notebook!]! }
  `;
  let notebooks: { id: string; name: string; imageId: string }[];
  const servers: http.Server[] = [];
  let stops: (() => Promise<void>)[] = [];
  let gatewayUrl: string;
  let hints: string[];

  async function serve(server: ApolloServer<{ authorization?: string }>): Promise<string> {
    await server.start();
    const expressApp = express();
    expressApp.use(express.json(), expressMiddleware(server, { context: async ({ req }) => ({ authorization: req.headers.authorization }) }));
    const httpServer = http.createServer(expressApp);
    servers.push(httpServer);
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    stops.push(() => server.stop());
    return `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/graphql`;
  }

  beforeAll(async () => {
    notebooks = Array.from({ length: 500 }, (_, i) => ({ id: `nb-${i}`, name: `notebook ${i}`, imageId: i === 0 ? hidden.id : images[i % images.length].id }));
    const notebooksUrl = await serve(
      new ApolloServer({
        schema: buildSubgraphSchema([
          {
            typeDefs: parse(notebooksSdl),
            resolvers: {
              Query: { notebooks: () => notebooks },
              Notebook: { image: (nb: { imageId: string }) => ({ __typename: 'Image', id: nb.imageId }) },
              Image: { notebooks: (image: { id: string }) => notebooks.filter((nb) => nb.imageId === image.id).slice(0, 2) },
            },
          },
        ]),
        plugins: [ApolloServerPluginInlineTraceDisabled()],
      }),
    );
    const composed = composeServices([
      { name: 'image-catalog', typeDefs: parse(printSubgraphSchema(buildSchema())), url: app.url },
      { name: 'notebooks', typeDefs: parse(notebooksSdl), url: notebooksUrl },
    ]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    hints = composed.hints.map((h) => `${h.definition.code}: ${h.message}`);
    const gateway = new ApolloGateway({
      supergraphSdl: composed.supergraphSdl,
      buildService: ({ url }) =>
        new RemoteGraphQLDataSource<{ authorization?: string }>({
          url,
          // The gateway forwards the caller's token: our subgraph applies its rules to every fetch.
          willSendRequest: ({ request, context }) => {
            if (context.authorization) request.http?.headers.set('authorization', context.authorization);
          },
        }),
    });
    gatewayUrl = await serve(new ApolloServer({ gateway }));
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
    for (const server of servers) server.close();
    stops = [];
  });

  async function throughGateway(token: string, query: string) {
    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data?: { notebooks: { name: string; image: { name: string; groups: { name: string }[]; notebooks: { name: string }[] } | null }[] }; errors?: unknown[] };
  }

  it('composes without errors or hints', () => {
    expect(hints).toEqual([]);
  });

  it('answers a query that crosses both subgraphs both ways', async () => {
    const body = await throughGateway(
      await app.mint({ sub: 'gw-admin', admin: true }),
      '{ notebooks { name image { name gpuUrl: urlFor(gpu: true) groups { name } notebooks { name } } } }',
    );
    expect(body.errors).toBeUndefined();
    expect(body.data?.notebooks).toHaveLength(500);
    expect(body.data?.notebooks[1]).toEqual({
      name: 'notebook 1',
      image: { name: 'fed-01', gpuUrl: 'jupyter/base-notebook:2023-10-20', groups: [{ name: 'fed-team' }], notebooks: [{ name: 'notebook 1' }, { name: 'notebook 13' }] },
    });
    expect(body.data?.notebooks[0].image?.name).toBe('fed-hidden');
  });

  it("resolves the 500 notebooks' images in a constant number of statements", async () => {
    const token = await app.mint({ sub: 'gw-admin', admin: true });
    const { count } = await app.countStatements(() => throughGateway(token, '{ notebooks { image { name groups { name } } } }'));
    expect(count).toBeLessThanOrEqual(2);
  });

  it("hides, through the gateway, the images the caller's groups may not use", async () => {
    const body = await throughGateway(await app.mint({ sub: 'gw-member', groups: ['fed-team'] }), '{ notebooks { name image { name } } }');
    expect(body.data?.notebooks[0]).toEqual({ name: 'notebook 0', image: null });
    expect(body.data?.notebooks[1]).toEqual({ name: 'notebook 1', image: { name: 'fed-01' } });
  });
});
