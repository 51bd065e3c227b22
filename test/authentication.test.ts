import http from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, KeyLike, SignJWT } from 'jose';
import { startTestApp, TEST_JWT_SECRET, TestApp } from './helpers/test-app';

const ME = 'query { images { totalCount } }';
const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);

/** An HS256 token with these claims; it expires in five minutes unless the claims say otherwise. */
function signed(claims: Record<string, unknown>, key: Uint8Array = secret) {
  return new SignJWT({ exp: now() + 300, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(key);
}

describe('verified tokens are remembered, never past their expiry', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_CLOCK_TOLERANCE_SECONDS: '0' } });
  });
  afterAll(() => app.close());

  it('accepts a token again and again, and refuses it once it has expired although it was just accepted', async () => {
    const exp = now() + 2;
    const token = await signed({ sub: 'brief', roles: ['admin'], exp });
    for (let i = 0; i < 3; i++) expect((await app.as(token).request(ME)).errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50));
    const response = await app.as(token).request(ME);
    expect(response.status).toBe(401);
    expect(response.errors?.[0].message).toMatch(/expired/);
  });
});

describe('authentication with an HS256 shared secret', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  async function expectUnauthenticated(token: string | null, reason: RegExp) {
    const response = await app.as(token).request(ME);
    expect(response.status).toBe(401);
    expect(response.data ?? null).toBeNull();
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.errors?.[0].message).toMatch(reason);
    return response;
  }

  it('refuses a request without an Authorization header with UNAUTHENTICATED and 401', async () => {
    await expectUnauthenticated(null, /no bearer token/);
  });

  it('refuses an Authorization header that is not "Bearer <token>"', async () => {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      body: JSON.stringify({ query: ME }),
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a malformed token', async () => {
    await expectUnauthenticated('not.a.jwt', /malformed/);
    await expectUnauthenticated('garbage', /malformed/);
  });

  it('refuses a token signed with another secret, saying only that the signature is invalid', async () => {
    const forged = await signed({ sub: 'mallory', roles: ['admin'] }, new TextEncoder().encode('another-secret-that-is-32-bytes-long!!'));
    const response = await expectUnauthenticated(forged, /^Not authenticated: the token signature is invalid$/);
    expect(response.text).not.toContain(TEST_JWT_SECRET);
  });

  it('refuses an unsigned token (alg "none")', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'mallory', roles: ['admin'] })).toString('base64url');
    await expectUnauthenticated(`${header}.${payload}.`, /not accept|malformed/);
  });

  it('refuses an expired token beyond the clock tolerance, and accepts one within it', async () => {
    await expectUnauthenticated(await signed({ sub: 'late', roles: ['admin'], exp: now() - 120 }), /expired/);
    const justExpired = await signed({ sub: 'late', roles: ['admin'], exp: now() - 5 });
    expect((await app.as(justExpired).request(ME)).errors).toBeUndefined();
  });

  it('refuses a token that is not valid yet', async () => {
    await expectUnauthenticated(await signed({ sub: 'early', roles: ['admin'], nbf: now() + 600 }), /not valid yet/);
  });

  it('refuses a token without an expiry: it would be valid forever', async () => {
    await expectUnauthenticated(await signed({ sub: 'forever', roles: ['admin'], exp: undefined }), /^Not authenticated: the token has no expiry \(exp\)$/);
  });

  it('refuses a token without a subject, or with one too long to record', async () => {
    await expectUnauthenticated(await signed({ roles: ['admin'] }), /sub/);
    await expectUnauthenticated(await signed({ sub: 'x'.repeat(256), roles: ['admin'] }), /subject \(sub\) is longer than 255 characters/);
    const longest = await signed({ sub: 'y'.repeat(255), roles: ['admin'] });
    const data = await app.as(longest).ok<{ createGroup: { createdBy: string } }>('mutation { createGroup(input: { name: "long-sub" }) { createdBy } }');
    expect(data.createGroup.createdBy).toBe('y'.repeat(255));
  });

  it('takes the caller from sub, roles and groups', async () => {
    const token = await signed({ sub: 'alice', roles: ['admin'], exp: now() + 60 });
    const data = await app.as(token).ok<{ createGroup: { createdBy: string } }>(
      'mutation { createGroup(input: { name: "from-alice" }) { createdBy } }',
    );
    expect(data.createGroup.createdBy).toBe('alice');
  });
});

describe('authentication with issuer, audience and Keycloak-style claims', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      env: {
        AUTH_ISSUER: 'https://sso.example.com/realms/ml',
        AUTH_AUDIENCE: 'image-catalog',
        AUTH_ROLES_CLAIM: 'realm_access.roles',
        AUTH_ADMIN_ROLE: 'catalog-admin',
      },
    });
  });
  afterAll(() => app.close());

  const claims = { iss: 'https://sso.example.com/realms/ml', aud: 'image-catalog', sub: 'kc-user' };

  it('accepts a token from the configured issuer for the configured audience', async () => {
    const token = await signed({ ...claims, realm_access: { roles: ['catalog-admin'] } });
    expect(await app.as(token).ok('mutation { createGroup(input: { name: "kc-group" }) { id } }')).toBeDefined();
  });

  it('reads the admin role from the dotted claim path', async () => {
    const token = await signed({ ...claims, realm_access: { roles: ['offline_access'] }, roles: ['catalog-admin'] });
    const error = await app.as(token).fails('mutation { createGroup(input: { name: "kc-nope" }) { id } }');
    expect(error.extensions?.code).toBe('FORBIDDEN');
  });

  it.each([
    ['another issuer', { iss: 'https://evil.example.com' }, /"iss" claim/],
    ['another audience', { aud: 'other-service' }, /"aud" claim/],
    ['no issuer', { iss: undefined }, /"iss" claim/],
  ])('refuses a token with %s', async (_, override, reason) => {
    const token = await signed({ ...claims, ...override, realm_access: { roles: ['catalog-admin'] } });
    const response = await app.as(token).request(ME);
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.errors?.[0].message).toMatch(reason);
  });

  it('matches group claims only to names a group can have, the same on every database', async () => {
    const admin = app.as(await signed({ ...claims, realm_access: { roles: ['catalog-admin'] } }));
    await admin.ok('mutation { createGroup(input: { name: "data-science" }) { id } }');
    // MariaDB's utf8mb4_unicode_ci would equate these with "data-science"; they are other groups.
    const lookalike = app.as(await signed({ ...claims, groups: ['dáta-science', 'data-science ', ' data-science', 'DATA-SCIENCE'] }));
    const data = await lookalike.ok<{ groups: { nodes: { name: string }[] } }>('{ groups { nodes { name } } }');
    expect(data.groups.nodes.map((g) => g.name)).toEqual(['data-science']);
    const accentOnly = app.as(await signed({ ...claims, groups: ['dáta-science', 'data-science '] }));
    expect((await accentOnly.ok<{ groups: { nodes: unknown[] } }>('{ groups { nodes { name } } }')).groups.nodes).toEqual([]);
  });

  it('accepts Keycloak group paths ("/name") as well as plain names', async () => {
    const admin = app.as(await signed({ ...claims, realm_access: { roles: ['catalog-admin'] } }));
    await admin.ok('mutation { a: createGroup(input: { name: "kc-slash" }) { id } b: createGroup(input: { name: "kc-plain" }) { id } }');
    const member = app.as(await signed({ ...claims, groups: ['/kc-slash', 'kc-plain', '/parent/kc-slash'] }));
    const data = await member.ok<{ groups: { nodes: { name: string }[] } }>('{ groups { nodes { name } } }');
    expect(data.groups.nodes.map((g) => g.name)).toEqual(['kc-plain', 'kc-slash']);
  });
});

describe('authentication with the issuer keys from a JWKS URL', () => {
  let app: TestApp;
  let jwks: http.Server;
  let privateKey: KeyLike;
  let jwksRequests = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    jwks = http.createServer((_, res) => {
      jwksRequests++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    app = await startTestApp({ env: { AUTH_JWT_SECRET: '', AUTH_JWKS_URL: `http://127.0.0.1:${port}/certs` } });
  });
  afterAll(async () => {
    await app.close();
    jwks.close();
  });

  const rs256 = (claims: Record<string, unknown>, kid = 'key-1') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime('5m').sign(privateKey);

  it('accepts tokens signed by a key of the set, fetching the set once', async () => {
    const token = await rs256({ sub: 'svc', roles: ['admin'] });
    expect((await app.as(token).request(ME)).errors).toBeUndefined();
    expect((await app.as(token).request(ME)).errors).toBeUndefined();
    expect(jwksRequests).toBe(1);
  });

  it('refuses an HS256 token even when it is signed with the old shared secret', async () => {
    const response = await app.as(await signed({ sub: 'x', roles: ['admin'] })).request(ME);
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('says the keys cannot be fetched, and logs it, when the identity provider is down', async () => {
    const down = await startTestApp({ env: { AUTH_JWT_SECRET: '', AUTH_JWKS_URL: 'http://127.0.0.1:9/certs' } });
    try {
      const response = await down.as(await rs256({ sub: 'svc', roles: ['admin'] })).request(ME);
      expect(response.status).toBe(401);
      expect(response.errors?.[0]).toMatchObject({ message: 'Not authenticated: the signing keys cannot be fetched', extensions: { code: 'UNAUTHENTICATED' } });
      expect(down.logs).toContainEqual(expect.objectContaining({ level: 'error', msg: 'cannot fetch the signing keys from AUTH_JWKS_URL', jwksUrl: 'http://127.0.0.1:9/certs' }));
    } finally {
      await down.close();
    }
  });

  it.each([
    ['answers 503', (res: http.ServerResponse) => res.writeHead(503).end('upstream unavailable')],
    ['answers a login page', (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>')],
  ])('says the keys cannot be fetched when the identity provider %s', async (_, answer) => {
    const provider = http.createServer((_req, res) => answer(res));
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/certs`;
    const failing = await startTestApp({ env: { AUTH_JWT_SECRET: '', AUTH_JWKS_URL: jwksUrl } });
    try {
      const response = await failing.as(await rs256({ sub: 'svc', roles: ['admin'] })).request(ME);
      expect(response.errors?.[0]).toMatchObject({ message: 'Not authenticated: the signing keys cannot be fetched', extensions: { code: 'UNAUTHENTICATED' } });
      expect(failing.logs).toContainEqual(expect.objectContaining({ level: 'error', msg: 'cannot fetch the signing keys from AUTH_JWKS_URL', jwksUrl }));
    } finally {
      await failing.close();
      provider.close();
    }
  });

  it('refuses a token that names a key the set does not have', async () => {
    const response = await app.as(await rs256({ sub: 'x', roles: ['admin'] }, 'unknown-key')).request(ME);
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.errors?.[0].message).toMatch(/unknown key/);
  });
});
