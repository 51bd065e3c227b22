import { createGroup, createImage, createPullSecret, uniqueName } from './helpers/factories';
import { CREATE_IMAGE, IMAGE_BY_ID } from './helpers/operations';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('createImage', () => {
  it('stores an image with the documented defaults and returns it', async () => {
    const name = uniqueName('base');
    const image = await createImage(app, { name, url: 'jupyter/base-notebook:2023-10-20' });
    expect(image).toMatchObject({
      name,
      displayName: name,
      description: null,
      type: 'UNIVERSAL',
      url: 'jupyter/base-notebook:2023-10-20',
      urlForGpu: null,
      global: false,
      version: 1,
      pullSecret: null,
      groups: [],
    });
    expect(image.createdAt).toMatch(ISO_UTC);
    expect(image.updatedAt).toBe(image.createdAt);
    const stored = await app.ok<{ image: { name: string } }>(IMAGE_BY_ID, { id: image.id });
    expect(stored.image.name).toBe(name);
    expect(await app.rowCount('images', 'id = ?', [image.id])).toBe(1);
  });

  it('trims strings and falls back to the name for a blank displayName', async () => {
    const name = uniqueName('trim');
    const image = await createImage(app, {
      name: `  ${name} `,
      displayName: '   ',
      description: '  notebooks  ',
      url: ' jupyter/base-notebook:2023-10-20 ',
    });
    expect(image).toMatchObject({ name, displayName: name, description: 'notebooks', url: 'jupyter/base-notebook:2023-10-20' });
  });

  it('keeps every given field', async () => {
    const secret = await createPullSecret(app);
    const [g1, g2] = [await createGroup(app), await createGroup(app)];
    const image = await createImage(app, {
      displayName: 'TensorFlow 2.15',
      description: 'TF with CUDA',
      type: 'UNIVERSAL',
      url: 'registry.example.com:5000/team/tf:2.15',
      urlForGpu: 'registry.example.com:5000/team/tf:2.15-gpu',
      pullSecretId: secret.id,
      global: true,
      groupIds: [g1.id, g2.id, g1.id],
    });
    expect(image).toMatchObject({
      displayName: 'TensorFlow 2.15',
      description: 'TF with CUDA',
      urlForGpu: 'registry.example.com:5000/team/tf:2.15-gpu',
      global: true,
      pullSecret: { id: secret.id, name: secret.name },
    });
    expect(image.groups.map((g) => g.id).sort()).toEqual([g1.id, g2.id].sort());
    expect(await app.rowCount('image_group_links', 'imageId = ?', [image.id])).toBe(2);
  });

  it.each(['tf-2.15', 'a', '0', 'a.b-c.d', 'x'.repeat(63), 'a1-b2.c3'])('accepts the name %p', async (name) => {
    const unique = name.length >= 60 ? name : `${name}-${uniqueName('n')}`;
    const image = await createImage(app, { name: unique.slice(0, 63) });
    expect(image.name).toBe(unique.slice(0, 63));
  });

  it.each(['a..b', 'a.-b', '-a', 'a-', 'A', 'Tf', 'a_b', 'a b', '.a', 'a.', 'x'.repeat(64), '', ' ', 'é'])(
    'rejects the name %p with BAD_USER_INPUT on the name field and writes nothing',
    async (name) => {
      const before = await app.rowCount('images');
      const error = await app.fails(CREATE_IMAGE, { input: { name, url: 'busybox' } });
      expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      expect(error.extensions?.fields).toEqual([{ field: 'name', message: expect.stringContaining('name must be') }]);
      expect(await app.rowCount('images')).toBe(before);
    },
  );

  it.each([
    'busybox',
    'jupyter/base-notebook:2023-10-20',
    'docker.io/library/python:3.12-slim',
    'localhost:5000/img',
    'registry.example.com:5000/team/img@sha256:' + 'a'.repeat(64),
    'registry.example.com/team/sub/img:tag@sha256:' + '0123456789abcdef'.repeat(4),
    'ghcr.io/org/repo__name/x-y.z:v1.0_rc-1',
    '10.0.0.1:5000/ml/notebook:latest',
    '[::1]:5000/img:1',
  ])('accepts the image reference %p', async (url) => {
    const image = await createImage(app, { url });
    expect(image.url).toBe(url);
  });

  it.each([
    '',
    'Busybox',
    'repo/Image:tag',
    'img:',
    'img:-tag',
    'img:' + 't'.repeat(129),
    'img@sha256:abc',
    'img@sha256:' + 'g'.repeat(64),
    'img@' + 'a'.repeat(64),
    'http://registry.example.com/img',
    'registry.example.com:99999/img',
    'a//b',
    'a/',
    'img tag',
    'registry.example.com/' + 'a'.repeat(500),
  ])('rejects the image reference %p on the url field', async (url) => {
    const error = await app.fails(CREATE_IMAGE, { input: { name: uniqueName(), url } });
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.extensions?.fields?.map((f) => f.field)).toEqual(['url']);
  });

  it('validates urlForGpu as an image reference too', async () => {
    const error = await app.fails(CREATE_IMAGE, { input: { name: uniqueName(), url: 'busybox', urlForGpu: 'NOT A REF' } });
    expect(error.extensions?.fields?.map((f) => f.field)).toEqual(['urlForGpu']);
  });

  it.each(['CPU', 'GPU'])('refuses a urlForGpu for a %s image and writes nothing', async (type) => {
    const name = uniqueName();
    const error = await app.fails(CREATE_IMAGE, { input: { name, type, url: 'busybox', urlForGpu: 'busybox:gpu' } });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'urlForGpu', message: expect.any(String) }] });
    expect(await app.rowCount('images', 'name = ?', [name])).toBe(0);
  });

  it('treats a blank urlForGpu as none', async () => {
    const image = await createImage(app, { type: 'CPU', urlForGpu: '  ' });
    expect(image.urlForGpu).toBeNull();
  });

  it('enforces the length limits of displayName, description and url', async () => {
    const error = await app.fails(CREATE_IMAGE, {
      input: {
        name: uniqueName(),
        displayName: 'd'.repeat(101),
        description: 'x'.repeat(2001),
        url: `registry.example.com/${'a'.repeat(491)}`,
      },
    });
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.extensions?.fields?.map((f) => f.field).sort()).toEqual(['description', 'displayName', 'url']);
  });

  it('accepts values at the length limits', async () => {
    // The longest valid reference: a 255-character repository, a 120-character tag and a sha512 digest.
    const url = `registry.example.com/${'a'.repeat(255 - 21)}:${'t'.repeat(120)}@sha512:${'f'.repeat(128)}`;
    const image = await createImage(app, { displayName: 'd'.repeat(100), description: 'é'.repeat(2000), url });
    expect(image.displayName).toHaveLength(100);
    expect(image.description).toHaveLength(2000);
    expect(image.url).toHaveLength(512);
  });

  it('reports one entry per invalid field', async () => {
    const error = await app.fails(CREATE_IMAGE, { input: { name: 'Bad Name', url: 'Bad Url', displayName: 'x'.repeat(200) } });
    const fields = error.extensions?.fields ?? [];
    expect(fields.map((f) => f.field).sort()).toEqual(['displayName', 'name', 'url']);
    expect(fields.every((f) => f.message.length > 0)).toBe(true);
  });

  it('rejects a duplicate name with CONFLICT on the name field, whatever the case', async () => {
    const image = await createImage(app);
    const before = await app.rowCount('images');
    const error = await app.fails(CREATE_IMAGE, { input: { name: image.name, url: 'busybox' } });
    expect(error.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' });
    expect(error.message).not.toMatch(/SQL|ER_DUP|UNIQUE|constraint/i);
    expect(await app.rowCount('images')).toBe(before);
  });

  it('rejects an unknown pullSecretId with NOT_FOUND and writes nothing', async () => {
    const name = uniqueName();
    const error = await app.fails(CREATE_IMAGE, { input: { name, url: 'busybox', pullSecretId: 'no-such-secret' } });
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'pullSecretId', ids: ['no-such-secret'] });
    expect(await app.rowCount('images', 'name = ?', [name])).toBe(0);
  });

  it('rejects unknown groupIds with NOT_FOUND naming them and writes neither image nor links', async () => {
    const group = await createGroup(app);
    const name = uniqueName();
    const linksBefore = await app.rowCount('image_group_links');
    const error = await app.fails(CREATE_IMAGE, { input: { name, url: 'busybox', groupIds: [group.id, 'ghost-1', 'ghost-2'] } });
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'groupIds', ids: ['ghost-1', 'ghost-2'] });
    expect(error.message).toContain('ghost-1');
    expect(await app.rowCount('images', 'name = ?', [name])).toBe(0);
    expect(await app.rowCount('image_group_links')).toBe(linksBefore);
  });

  it('rejects a wrongly typed variable with BAD_USER_INPUT naming the field', async () => {
    const error = await app.fails(CREATE_IMAGE, { input: { name: uniqueName(), url: 'busybox', type: 'TPU' } });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'type', message: expect.any(String) }] });
  });

  it('rejects a missing required field before anything runs', async () => {
    const error = await app.fails(CREATE_IMAGE, { input: { name: uniqueName() } });
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.extensions?.fields?.[0].field).toBe('url');
  });
});
