import { GraphQLObjectType } from 'graphql';
import { imageColumnsFor } from '../src/images/image-projection';
import { buildSchema } from '../src/schema';
import { createGroup, createImage, createPullSecret } from './helpers/factories';
import { startTestApp, TestApp } from './helpers/test-app';

// Lists and the launcher read only the columns a request asks for, and groups { id name
// displayName } and pullSecret { id name } come from summary loaders. Those partial records must
// never answer another field of the same request that asks for more.

let app: TestApp;
let image: { id: string; name: string };
let group: { id: string; name: string };
let secret: { id: string; name: string };

beforeAll(async () => {
  app = await startTestApp();
  group = await createGroup(app, { description: 'the whole group' });
  secret = await createPullSecret(app);
  image = await createImage(app, { description: 'the whole image', pullSecretId: secret.id, groupIds: [group.id], type: 'CPU' });
});
afterAll(() => app.close());

describe('reading only what is asked', () => {
  it('knows the columns of every field of Image (an unknown one would silently read whole rows again)', () => {
    const fields = Object.keys((buildSchema().getType('Image') as GraphQLObjectType).getFields());
    expect(fields.filter((field) => imageColumnsFor(new Set([field])) === undefined)).toEqual([]);
  });


  it('answers a thin list and, in the same request, the whole image, group and secret', async () => {
    const data = await app.ok<Record<string, unknown>>(
      `query($id: ID, $groupId: ID, $secretId: ID) {
        images(first: 50) { nodes { id name groups { id name } pullSecret { id name } } }
        image(id: $id) { name description version createdAt createdBy groups { id description createdAt } pullSecret { name registryHost username createdAt } }
        group(id: $groupId) { description createdAt }
        imagePullSecret(id: $secretId) { registryHost username }
      }`,
      { id: image.id, groupId: group.id, secretId: secret.id },
    );
    const nodes = (data.images as { nodes: { id: string }[] }).nodes;
    expect(nodes.find((node) => node.id === image.id)).toEqual({ id: image.id, name: image.name, groups: [{ id: group.id, name: group.name }], pullSecret: { id: secret.id, name: secret.name } });
    expect(data.image).toMatchObject({ name: image.name, description: 'the whole image', version: 1, createdBy: 'test-admin', groups: [{ id: group.id, description: 'the whole group' }] });
    expect((data.image as { pullSecret: { username: string; registryHost: string } }).pullSecret).toMatchObject({ name: secret.name, username: expect.any(String), registryHost: expect.any(String) });
    expect(data.group).toMatchObject({ description: 'the whole group' });
    expect(data.imagePullSecret).toMatchObject({ username: expect.any(String) });
  });

  it('answers a thin launcher list beside the whole records', async () => {
    const data = await app.ok<Record<string, unknown>>(
      `query($groupId: ID!, $id: ID, $secretId: ID) {
        launchableImages(groupId: $groupId, gpu: false) { id name urlFor(gpu: false) pullSecret { id name } }
        image(id: $id) { description version pullSecret { username } }
        imagePullSecret(id: $secretId) { username createdAt }
      }`,
      { groupId: group.id, id: image.id, secretId: secret.id },
    );
    expect(data.launchableImages).toContainEqual({ id: image.id, name: image.name, urlFor: expect.any(String), pullSecret: { id: secret.id, name: secret.name } });
    expect(data.image).toMatchObject({ description: 'the whole image', version: 1, pullSecret: { username: expect.any(String) } });
    expect(data.imagePullSecret).toMatchObject({ username: expect.any(String) });
  });

  it('reads only the asked-for columns of a page, through fragments too', async () => {
    const thin = await app.countStatements(() => app.ok('{ images(first: 5) { nodes { id name } } }'));
    const page = thin.statements.find((sql) => /FROM [`"]images[`"]/.test(sql) && /LIMIT/.test(sql)) ?? '';
    expect(page).not.toMatch(/description|createdBy|displayNameKey/);
    const whole = await app.countStatements(() => app.ok('{ images(first: 5) { nodes { id ... on Image { description } __typename } } }'));
    expect(whole.statements.find((sql) => /LIMIT/.test(sql))).toMatch(/description/);
    // A selection through fragments counts the same as a direct one.
    const viaFragment = await app.ok<{ images: { nodes: { id: string; createdAt: string }[] } }>('fragment F on Image { createdAt } { images(first: 5) { nodes { id ...F } } }');
    expect(viaFragment.images.nodes.every((node) => typeof node.createdAt === 'string')).toBe(true);
  });

  it('sees groups set earlier in the same request through the group summaries', async () => {
    const other = await createGroup(app);
    const data = await app.ok<{ first: { groups: { id: string }[] }; second: { groups: { id: string; name: string }[] } }>(
      `mutation($id: ID!, $a: [ID!]!, $b: [ID!]!) {
        first: setImageGroups(imageId: $id, groupIds: $a) { groups { id } }
        second: setImageGroups(imageId: $id, groupIds: $b) { groups { id name } }
      }`,
      { id: image.id, a: [other.id], b: [group.id] },
    );
    expect(data.first.groups).toEqual([{ id: other.id }]);
    expect(data.second.groups).toEqual([{ id: group.id, name: group.name }]);
  });
});
