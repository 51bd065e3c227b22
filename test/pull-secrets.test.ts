import { createImage, createPullSecret, ImageData, PullSecretData, uniqueName } from './helpers/factories';
import { CREATE_PULL_SECRET, DELETE_PULL_SECRET, DOCKER_CONFIG_JSON, IMAGE_BY_ID, PULL_SECRET_BY_ID, UPDATE_PULL_SECRET } from './helpers/operations';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
const printed: string[] = [];
const PASSWORD = 'Pa55-word-that-must-never-show';

beforeAll(async () => {
  // Statement logging on, and everything the process prints captured, to prove the password never shows.
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
    });
  }
  app = await startTestApp({ logSql: true });
});
afterAll(async () => {
  await app.close();
  jest.restoreAllMocks();
});

describe('image pull secrets', () => {
  it('creates a secret and never returns, logs or echoes its password', async () => {
    const name = uniqueName('secret');
    const response = await app.request<{ createImagePullSecret: PullSecretData }>(CREATE_PULL_SECRET, {
      input: { name, registryHost: 'registry.example.com:5000', username: 'robot', password: PASSWORD },
    });
    expect(response.data?.createImagePullSecret).toMatchObject({ name, displayName: name, registryHost: 'registry.example.com:5000', username: 'robot' });
    expect(response.text).not.toContain(PASSWORD);
    const rejected = await app.request(CREATE_PULL_SECRET, {
      input: { name: 'Bad Name', registryHost: 'not a host', username: '', password: PASSWORD },
    });
    expect(rejected.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(rejected.text).not.toContain(PASSWORD);
    const duplicate = await app.request(CREATE_PULL_SECRET, {
      input: { name, registryHost: 'r.example.com', username: 'u', password: PASSWORD },
    });
    expect(duplicate.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(duplicate.text).not.toContain(PASSWORD);
    expect(app.logs.some((line) => line.msg === 'sql' && String(line.sql).startsWith('INSERT INTO'))).toBe(true);
    expect(JSON.stringify(app.logs)).not.toContain(PASSWORD);
    expect(printed.join('\n')).not.toContain(PASSWORD);
  });

  it.each([
    ['a missing required field', { registryHost: 'r.example.com', username: 'u', password: PASSWORD }, 'name', /Field "name" of required type "String!" was not provided/],
    ['an unknown field', { name: 'x', registryHost: 'r.example.com', username: 'u', password: PASSWORD, extra: 1 }, 'extra', /Field "extra" is not defined/],
    ['a password of the wrong type', { name: 'x', registryHost: 'r.example.com', username: 'u', password: 31415926535 }, 'password', /String cannot represent a non string value\.$/],
  ])('does not echo the password when the variables have %s', async (_, input, field, reason) => {
    const response = await app.request(CREATE_PULL_SECRET, { input });
    const error = response.errors?.[0];
    expect(error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field, message: error?.message }] });
    expect(error?.message).toMatch(/^Variable "\$input" got invalid value( at "input\.\w+")?; /);
    expect(error?.message).toMatch(reason);
    expect(response.text).not.toContain(PASSWORD);
    expect(response.text).not.toContain('31415926535');
  });

  it.each([
    ['an object where a string belongs, holding a fake reason', { password: { p: 'x; Expected SEKRIT' } }],
    ['a list holding a fake reason', { password: ['x; Value SEKRIT'] }],
    ['a fake path', { password: { q: 'x at "input.password"; Field "SEKRIT" of required type "String!" was not provided.' } }],
  ])('does not echo any part of a value that is %s', async (_, override) => {
    const response = await app.request(CREATE_PULL_SECRET, { input: { name: 'x', registryHost: 'r.example.com', username: 'u', ...override } });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'password' }] });
    expect(response.text).not.toContain('SEKRIT');
  });

  it('does not echo an enum value it does not know', async () => {
    const response = await app.request('query Q($t: AuditEntityType) { auditEvents(filter: { entityType: $t }) { totalCount } }', { t: 'SEKRIT' });
    expect(response.errors?.[0]).toMatchObject({ message: 'Variable "$t" got invalid value; Value does not exist in "AuditEntityType" enum.', extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 't' }] } });
    expect(response.text).not.toContain('SEKRIT');
  });

  // Formatting that rescans the value per occurrence of its own markers took minutes on this.
  it('answers a huge value built to slow down error formatting without stalling', async () => {
    const bait = { a: 'got invalid value ; at "t'.repeat(20_000) };
    const response = await app.request('query Q($t: AuditEntityType) { auditEvents(filter: { entityType: $t }) { totalCount } }', { t: bait });
    expect(response.errors?.[0]).toMatchObject({
      message: 'Variable "$t" got invalid value; Enum "AuditEntityType" cannot represent non-string value.',
      extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 't' }] },
    });
    expect(response.text.length).toBeLessThan(2_000);
  }, 15_000);

  it('does not echo or log the body of a request that is not JSON', async () => {
    const body = JSON.stringify({ query: CREATE_PULL_SECRET, variables: { input: { name: 'x', registryHost: 'r', username: 'u', password: PASSWORD } } });
    const response = await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `${body.slice(0, -1)},}` });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
    expect(JSON.stringify(app.logs)).not.toContain(PASSWORD);
    expect(printed.join('\n')).not.toContain(PASSWORD);
    expect(app.logs.at(-1)).toMatchObject({ msg: 'graphql request', status: 400, outcome: 'error', errors: ['BAD_REQUEST'] });
  });

  it('refuses a body over 1 MiB with 413 and PAYLOAD_TOO_LARGE, logging none of it', async () => {
    const body = JSON.stringify({ query: CREATE_PULL_SECRET, variables: { input: { name: 'x', registryHost: 'r', username: 'u', password: `${PASSWORD}${'p'.repeat(1_100_000)}` } } });
    const response = await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ errors: [{ message: 'The request body is larger than 1048576 bytes (set by GRAPHQL_MAX_BODY_BYTES)', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    expect(JSON.stringify(app.logs)).not.toContain(PASSWORD);
    expect(printed.join('\n')).not.toContain(PASSWORD);
  });

  it('has no password field at all', async () => {
    const error = await app.fails('{ imagePullSecrets { nodes { password } } }');
    expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const introspection = await app.ok<{ __type: { fields: { name: string }[] } }>('{ __type(name: "ImagePullSecret") { fields { name } } }');
    expect(introspection.__type.fields.map((f) => f.name)).not.toContain('password');
  });

  it('stores the password it was given and changes it on update', async () => {
    const reader = await app.caller({ sub: 'puller', secretReader: true });
    const passwordOf = async (id: string) => {
      const data = await reader.ok<{ dockerConfigJson: string }>(DOCKER_CONFIG_JSON, { id });
      return (JSON.parse(data.dockerConfigJson) as { auths: Record<string, { password: string }> }).auths['registry.example.com:5000'].password;
    };
    const secret = await createPullSecret(app, { password: PASSWORD });
    expect(await passwordOf(secret.id)).toBe(PASSWORD);
    const updated = await app.request<{ updateImagePullSecret: PullSecretData }>(UPDATE_PULL_SECRET, {
      id: secret.id,
      input: { password: `${PASSWORD}-2` },
    });
    expect(updated.text).not.toContain(PASSWORD);
    expect(await passwordOf(secret.id)).toBe(`${PASSWORD}-2`);
    expect((updated.data?.updateImagePullSecret.updatedAt ?? "") >= secret.updatedAt).toBe(true);
  });

  it.each(['registry.example.com', 'registry.example.com:5000', 'localhost:5000', '10.1.2.3', '[::1]:5000', 'ghcr.io'])(
    'accepts the registry host %p',
    async (registryHost) => {
      expect((await createPullSecret(app, { registryHost })).registryHost).toBe(registryHost);
    },
  );

  it.each(['', 'https://registry.example.com', 'registry.example.com/path', 'host:0', 'host:65536', 'bad host', '-host.com'])(
    'rejects the registry host %p on the registryHost field',
    async (registryHost) => {
      const error = await app.fails(CREATE_PULL_SECRET, { input: { name: uniqueName('s'), registryHost, username: 'u', password: 'p' } });
      expect(error.extensions?.fields?.map((f) => f.field)).toEqual(['registryHost']);
    },
  );

  it('uses the image-name rule for secret names', async () => {
    const error = await app.fails(CREATE_PULL_SECRET, { input: { name: 'Team_Secret', registryHost: 'r.io', username: 'u', password: 'p' } });
    expect(error.extensions?.fields?.map((f) => f.field)).toEqual(['name']);
  });

  it('updates partially and refuses nulls', async () => {
    const secret = await createPullSecret(app, { displayName: 'Prod registry' });
    const updated = (await app.ok<{ updateImagePullSecret: PullSecretData }>(UPDATE_PULL_SECRET, { id: secret.id, input: { username: 'bot2' } }))
      .updateImagePullSecret;
    expect(updated).toMatchObject({ username: 'bot2', displayName: 'Prod registry', registryHost: secret.registryHost });
    const error = await app.fails(UPDATE_PULL_SECRET, { id: secret.id, input: { registryHost: null, password: null } });
    expect(error.extensions?.fields?.map((f) => f.field).sort()).toEqual(['password', 'registryHost']);
  });

  it('lists the images that use it', async () => {
    const secret = await createPullSecret(app);
    const [a, b] = [await createImage(app, { pullSecretId: secret.id }), await createImage(app, { pullSecretId: secret.id })];
    await createImage(app);
    const data = await app.ok<{ imagePullSecret: PullSecretData }>(PULL_SECRET_BY_ID, { id: secret.id });
    expect(data.imagePullSecret.images.map((i) => i.id).sort()).toEqual([a.id, b.id].sort());
  });

  it('refuses to delete a secret in use with CONFLICT listing the images, and deletes nothing', async () => {
    const secret = await createPullSecret(app);
    const image = await createImage(app, { pullSecretId: secret.id });
    const error = await app.fails(DELETE_PULL_SECRET, { id: secret.id });
    expect(error.extensions).toMatchObject({ code: 'CONFLICT', images: [{ id: image.id, name: image.name }] });
    expect(error.message).toContain(image.name);
    expect(await app.rowCount('image_pull_secrets', 'id = ?', [secret.id])).toBe(1);
    expect(await app.rowCount('images', 'id = ? AND pullSecretId = ?', [image.id, secret.id])).toBe(1);
  });

  it('with detach: true clears the reference on its images in the same call and deletes it', async () => {
    const secret = await createPullSecret(app);
    const image = await createImage(app, { pullSecretId: secret.id });
    const data = await app.ok<{ deleteImagePullSecret: string }>(DELETE_PULL_SECRET, { id: secret.id, detach: true });
    expect(data.deleteImagePullSecret).toBe(secret.id);
    expect(await app.rowCount('image_pull_secrets', 'id = ?', [secret.id])).toBe(0);
    const stored = (await app.ok<{ image: ImageData }>(IMAGE_BY_ID, { id: image.id })).image;
    expect(stored).toMatchObject({ pullSecret: null, version: 2 });
  });

  it('deletes an unused secret without detach', async () => {
    const secret = await createPullSecret(app);
    await app.ok(DELETE_PULL_SECRET, { id: secret.id });
    expect((await app.ok<{ imagePullSecret: null }>(PULL_SECRET_BY_ID, { id: secret.id })).imagePullSecret).toBeNull();
  });

  it('fails with NOT_FOUND for an unknown id', async () => {
    expect((await app.fails(DELETE_PULL_SECRET, { id: 'ghost' })).extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
    expect((await app.fails(UPDATE_PULL_SECRET, { id: 'ghost', input: { username: 'x' } })).extensions?.code).toBe('NOT_FOUND');
  });
});
