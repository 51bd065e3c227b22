import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, RequestListener, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config';
import { parseImageReference, pinnedReference, registryApiHost } from '../src/registry/image-reference';
import { NotAManifestError, parseManifest } from '../src/registry/manifest';
import { RegistryChecks } from '../src/registry/registry-checks';
import { parseChallenges } from '../src/registry/www-authenticate';

describe('image references, read as Docker reads them', () => {
  it.each([
    ['busybox', { registry: 'docker.io', apiHost: 'registry-1.docker.io', repository: 'library/busybox', tag: 'latest', digest: null }],
    ['jupyter/base-notebook:2023-10-20', { registry: 'docker.io', repository: 'jupyter/base-notebook', tag: '2023-10-20' }],
    ['docker.io/ubuntu:22.04', { registry: 'docker.io', apiHost: 'registry-1.docker.io', repository: 'library/ubuntu', tag: '22.04' }],
    ['index.docker.io/team/app:1', { registry: 'docker.io', repository: 'team/app', tag: '1' }],
    ['ghcr.io/org/app:1.0', { registry: 'ghcr.io', apiHost: 'ghcr.io', repository: 'org/app', tag: '1.0' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['Registry.Example.com:5000/team/img@sha256:' + 'a'.repeat(64), { registry: 'registry.example.com:5000', apiHost: 'registry.example.com:5000', repository: 'team/img', tag: null, digest: 'sha256:' + 'a'.repeat(64) }],
    ['quay.io/org/app:v2@sha256:' + 'b'.repeat(64), { registry: 'quay.io', repository: 'org/app', tag: 'v2', digest: 'sha256:' + 'b'.repeat(64) }],
  ])('%s', (reference, expected) => {
    expect(parseImageReference(reference, 'docker.io')).toMatchObject(expected);
  });

  it('puts references without a registry on the configured default host, under library/ for a single name', () => {
    expect(parseImageReference('python:3.12', 'mirror.internal:5000')).toMatchObject({ registry: 'mirror.internal:5000', apiHost: 'mirror.internal:5000', repository: 'library/python', tag: '3.12' });
    expect(parseImageReference('team/python:3.12', 'mirror.internal:5000')).toMatchObject({ repository: 'team/python' });
  });

  it('asks Docker Hub at its API host under each of its names, and other registries where they are', () => {
    for (const host of ['docker.io', 'index.docker.io', 'Registry-1.Docker.io']) expect(registryApiHost(host)).toBe('registry-1.docker.io');
    expect(registryApiHost('Harbor.Example.com:8443')).toBe('harbor.example.com:8443');
  });

  it('pins by appending the digest, replacing an older one', () => {
    const digest = 'sha256:' + 'c'.repeat(64);
    expect(pinnedReference('ghcr.io/org/app:1.0', digest)).toBe(`ghcr.io/org/app:1.0@${digest}`);
    expect(pinnedReference(`ghcr.io/org/app:1.0@sha256:${'d'.repeat(64)}`, digest)).toBe(`ghcr.io/org/app:1.0@${digest}`);
  });
});

describe('WWW-Authenticate challenges', () => {
  it('reads a Bearer challenge whose quoted scope holds a comma', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/ubuntu:pull,push' } },
    ]);
  });

  it('reads several challenges, unquoted values and escapes', () => {
    expect(parseChallenges('Basic realm="a \\"quoted\\" realm", Bearer realm=https://x/token, error=insufficient_scope')).toEqual([
      { scheme: 'basic', params: { realm: 'a "quoted" realm' } },
      { scheme: 'bearer', params: { realm: 'https://x/token', error: 'insufficient_scope' } },
    ]);
  });

  it('answers nothing for a missing or empty header', () => {
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
  });
});

describe('manifests', () => {
  const manifest = (body: unknown, contentType?: string) => parseManifest(Buffer.from(JSON.stringify(body)), contentType);

  it('sums a manifest\'s config and layer sizes', () => {
    expect(manifest({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { size: 10 }, layers: [{ size: 100 }, { size: 1000 }] })).toEqual({
      kind: 'manifest',
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      compressedSize: 1110,
    });
  });

  it('lists an index\'s platforms, leaving out attestations, and takes the media type from the Content-Type when the body has none', () => {
    const index = manifest(
      {
        schemaVersion: 2,
        manifests: [
          { digest: 'sha256:1', platform: { os: 'linux', architecture: 'amd64' } },
          { digest: 'sha256:2', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
          { digest: 'sha256:3', platform: { os: 'unknown', architecture: 'unknown' } },
        ],
      },
      'application/vnd.docker.distribution.manifest.list.v2+json',
    );
    expect(index).toEqual({
      kind: 'index',
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      platforms: [
        { os: 'linux', architecture: 'amd64', variant: null, digest: 'sha256:1' },
        { os: 'linux', architecture: 'arm64', variant: 'v8', digest: 'sha256:2' },
      ],
    });
  });

  it.each([
    ['HTML', '<html></html>'],
    ['a schema 1 manifest', JSON.stringify({ schemaVersion: 1, name: 'x' })],
    ['a layer without a size', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { size: 1 }, layers: [{}] })],
    ['an unknown media type', JSON.stringify({ schemaVersion: 2, mediaType: 'text/plain' })],
  ])('refuses %s', (_what, body) => {
    expect(() => parseManifest(Buffer.from(body), undefined)).toThrow(NotAManifestError);
  });
});

describe('registry settings', () => {
  it('checks by default on Docker Hub, rechecking every 6 hours, 4 at a time, 10 s per request', () => {
    expect(loadConfig({}).registry).toEqual({
      checks: true,
      defaultHost: 'docker.io',
      recheckIntervalMs: 6 * 3_600_000,
      recheckBatch: 20,
      concurrency: 4,
      timeoutMs: 10_000,
      extraCa: undefined,
      plainHttpHosts: new Set(),
    });
  });

  it('reads durations, hosts and the CA file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-settings-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const registry = loadConfig({
        REGISTRY_CHECKS: 'off',
        REGISTRY_DEFAULT_HOST: 'Mirror.Internal:5000',
        REGISTRY_RECHECK_INTERVAL: '30m',
        REGISTRY_PLAIN_HTTP_HOSTS: 'localhost:5000, 127.0.0.1:5001',
        REGISTRY_CA_FILE: join(dir, 'ca.pem'),
      }).registry;
      expect(registry).toMatchObject({ checks: false, defaultHost: 'mirror.internal:5000', recheckIntervalMs: 1_800_000, plainHttpHosts: new Set(['localhost:5000', '127.0.0.1:5001']) });
      expect(registry.extraCa).toContain('BEGIN CERTIFICATE');
      expect(loadConfig({ REGISTRY_RECHECK_INTERVAL: '0' }).registry.recheckIntervalMs).toBe(0);
      expect(loadConfig({ REGISTRY_RECHECK_INTERVAL: '90' }).registry.recheckIntervalMs).toBe(90_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ REGISTRY_RECHECK_INTERVAL: 'often' }, /REGISTRY_RECHECK_INTERVAL must be a duration/],
    [{ REGISTRY_DEFAULT_HOST: 'not a host' }, /REGISTRY_DEFAULT_HOST/],
    [{ REGISTRY_PLAIN_HTTP_HOSTS: 'ok:1,bad host' }, /REGISTRY_PLAIN_HTTP_HOSTS/],
    [{ REGISTRY_CA_FILE: '/nonexistent/ca.pem' }, /REGISTRY_CA_FILE: cannot read/],
    [{ REGISTRY_CHECK_CONCURRENCY: '0' }, /REGISTRY_CHECK_CONCURRENCY/],
    [{ REGISTRY_CHECKS: 'maybe' }, /REGISTRY_CHECKS must be true or false/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('registries that try tricks (plain HTTP servers on loopback)', () => {
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))));

  function listen(handler: RequestListener): Promise<string> {
    return new Promise((resolve) => {
      const server = createServer(handler);
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as { port: number }).port}`));
    });
  }
  const checksFor = (hosts: string[], timeoutMs = 2_000) => new RegistryChecks({ defaultHost: 'docker.io', timeoutMs, plainHttpHosts: new Set(hosts) });

  it('a host the registry redirects to cannot get the credentials by naming a token service of its own', async () => {
    const tokenRequests: (string | undefined)[] = [];
    const elsewhere: string = await listen((req, res) => {
      if (req.url?.startsWith('/token')) {
        tokenRequests.push(req.headers.authorization);
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}');
      }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${elsewhere}/token"` }).end();
    });
    const registry = await listen((req, res) => void res.writeHead(307, { location: `http://${elsewhere}${req.url}` }).end());
    const checks = checksFor([registry, elsewhere]);
    try {
      expect(await checks.checkReference(`${registry}/team/app:1`, { username: 'alice', password: 'hunter2' })).toMatchObject({ state: 'UNAUTHORIZED' });
      expect(tokenRequests).toEqual([]);
    } finally {
      await checks.close();
    }
  });

  it('a Location that is not a URL is UNREACHABLE, not an exception', async () => {
    const registry = await listen((_req, res) => void res.writeHead(302, { location: 'http://[::1' }).end());
    const checks = checksFor([registry]);
    try {
      expect(await checks.checkReference(`${registry}/team/app:1`, null)).toMatchObject({ state: 'UNREACHABLE', message: expect.stringContaining('not a URL') });
    } finally {
      await checks.close();
    }
  });

  it('a check has a deadline of its own: answers that each come just in time still end it', async () => {
    const timeoutMs = 400;
    let hops = 0;
    const registry: string = await listen((req, res) => {
      hops++;
      setTimeout(() => res.writeHead(307, { location: `http://${registry}${req.url?.split('?')[0]}?hop=${hops}` }).end(), timeoutMs * 0.8);
    });
    const checks = checksFor([registry], timeoutMs);
    try {
      expect(await checks.checkReference(`${registry}/team/app:1`, null)).toMatchObject({ state: 'UNREACHABLE', message: expect.stringContaining('took longer than 3 × REGISTRY_TIMEOUT_MS') });
      expect(hops).toBeLessThanOrEqual(4);
    } finally {
      await checks.close();
    }
  });

  it('reads a megabyte of hostile WWW-Authenticate in linear time (a quadratic parser would not finish within the test timeout)', () => {
    expect(parseChallenges(`Bearer realm="https://x/t",${' '.repeat(1_000_000)}@`)).toEqual([{ scheme: 'bearer', params: { realm: 'https://x/t' } }]);
    expect(parseChallenges(`${', '.repeat(500_000)}Basic realm="r"`)).toEqual([{ scheme: 'basic', params: { realm: 'r' } }]);
  });
});
