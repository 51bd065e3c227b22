import { createGroup, createImage, createPullSecret, uniqueName } from './helpers/factories';
import { freePort } from './helpers/free-port';
import { FakeServer, startHttpsServer, startSilentServer } from './helpers/misbehaving-registry';
import { startTestApp, TestApp } from './helpers/test-app';
import { BasicAuthRegistry, makeTestCa, startBasicAuthRegistry, startTokenAuthRegistry, TestCa, TokenRegistry } from './helpers/test-registry';

import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

// Debian's docker-registry, apache2-utils (htpasswd) and openssl; .ci/run installs them. Without
// them (a laptop) these tests are skipped; in CI they must run.
const tools = ['/usr/bin/docker-registry', 'htpasswd', 'openssl'];
const available = tools.every((tool) => (tool.startsWith('/') ? existsSync(tool) : hasCommand(tool)));
if (!available && process.env.CI === 'true') throw new Error(`CI needs ${tools.join(', ')} for the registry-check tests`);
const suite = available ? describe : describe.skip;

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Registry checks against real CNCF distribution registries on loopback: one with htpasswd Basic
 * auth, one behind a Bearer token service (public `library/` repositories, private `team/` ones),
 * both on TLS with a CA made for the test; and servers that misbehave on purpose.
 */

const BASIC_USER = 'robot';
const BASIC_PASSWORD = 'basic-Pa55word-never-shown';
const TOKEN_USER = 'alice';
const TOKEN_PASSWORD = 'token-Pa55word-never-shown';
const WRONG_PASSWORD = 'wrong-Pa55word-never-shown';
const PASSWORDS = [BASIC_PASSWORD, TOKEN_PASSWORD, WRONG_PASSWORD];
const TIMEOUT_MS = 1_500;

const REFERENCE_FIELDS = 'reference state digest mediaType compressedSize checkedAt message platforms { os architecture variant digest compressedSize }';
const AVAILABILITY = `id url urlForGpu availability { state checkedAt url { ${REFERENCE_FIELDS} } urlForGpu { ${REFERENCE_FIELDS} } }`;
const IMAGE_AVAILABILITY = `query ($id: ID) { image(id: $id) { ${AVAILABILITY} } }`;
const CREATE = `mutation ($input: CreateImageInput!) { createImage(input: $input) { ${AVAILABILITY} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateImageInput!) { updateImage(id: $id, input: $input) { ${AVAILABILITY} version } }`;
const CHECK_IMAGE = `mutation ($id: ID!) { checkImage(id: $id) { ${AVAILABILITY} } }`;
const CHECK_SECRET = 'mutation ($id: ID!) { checkImagePullSecret(id: $id) { secret { id name } registryHost state message checkedAt } }';

interface ReferenceAvailability {
  reference: string;
  state: string;
  digest: string | null;
  mediaType: string | null;
  compressedSize: number | null;
  checkedAt: string | null;
  message: string;
  platforms: { os: string; architecture: string; variant: string | null; digest: string; compressedSize: number | null }[];
}
interface ImageAvailability {
  id: string;
  url: string;
  urlForGpu: string | null;
  availability: { state: string; checkedAt: string | null; url: ReferenceAvailability; urlForGpu: ReferenceAvailability | null };
}

let ca: TestCa;
let otherCa: TestCa;
let basic: BasicAuthRegistry;
let token: TokenRegistry;
let strangers: BasicAuthRegistry;
let app: TestApp;
const responses: string[] = [];

/** The settings every app here runs with: checks on, the test CA, the token service declared plain HTTP. */
function registryEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    REGISTRY_CHECKS: 'on',
    REGISTRY_CA_FILE: ca.caFile,
    REGISTRY_DEFAULT_HOST: token.host,
    REGISTRY_PLAIN_HTTP_HOSTS: new URL(token.realm).host,
    REGISTRY_TIMEOUT_MS: String(TIMEOUT_MS),
    REGISTRY_RECHECK_INTERVAL: '0',
    ...extra,
  };
}

suite('registry checks', () => {
  beforeAll(async () => {
    [ca, otherCa] = await Promise.all([makeTestCa(), makeTestCa()]);
    [basic, token, strangers] = await Promise.all([
      startBasicAuthRegistry(ca, { [BASIC_USER]: BASIC_PASSWORD }),
      startTokenAuthRegistry(ca, { users: { [TOKEN_USER]: TOKEN_PASSWORD }, publicPrefix: 'library/' }),
      // Its certificate comes from a CA the service was not told about.
      startBasicAuthRegistry(otherCa, { [BASIC_USER]: BASIC_PASSWORD }),
    ]);
    app = await startTestApp({ env: registryEnv() });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await Promise.all([basic?.destroy(), token?.destroy(), strangers?.destroy()]);
    ca?.destroy();
    otherCa?.destroy();
  });

  async function ok<T>(query: string, variables?: Record<string, unknown>, client: Pick<TestApp, 'request'> = app): Promise<T> {
    const response = await client.request<T>(query, variables);
    responses.push(response.text);
    if (response.errors?.length) throw new Error(`expected success, got ${JSON.stringify(response.errors, null, 2)}`);
    return response.data as T;
  }

  async function availabilityOf(id: string): Promise<ImageAvailability> {
    return (await ok<{ image: ImageAvailability }>(IMAGE_AVAILABILITY, { id })).image;
  }

  /** The image once its check after the change has been written. */
  async function checked(id: string, within = 15_000): Promise<ImageAvailability> {
    const deadline = Date.now() + within;
    for (;;) {
      const image = await availabilityOf(id);
      const states = [image.availability.url.state, image.availability.urlForGpu?.state].filter(Boolean);
      if (!states.includes('UNCHECKED')) return image;
      if (Date.now() > deadline) throw new Error(`still UNCHECKED after ${within} ms: ${JSON.stringify(image)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function create(input: Record<string, unknown>): Promise<ImageAvailability> {
    return (await ok<{ createImage: ImageAvailability }>(CREATE, { input: { name: uniqueName('img'), ...input } })).createImage;
  }

  async function basicSecret(password = BASIC_PASSWORD, registryHost = basic.host) {
    return createPullSecret(app, { registryHost, username: BASIC_USER, password });
  }

  describe('availability after a change', () => {
    it('an image on a public repository is UNCHECKED in the mutation, then AVAILABLE with the digest, media type and size the registry holds', async () => {
      const pushed = await token.push('library/notebook', 'v1');
      const image = await create({ url: `${token.host}/library/notebook:v1` });
      expect(image.availability.state).toBe('UNCHECKED');
      expect(image.availability.url).toMatchObject({ state: 'UNCHECKED', checkedAt: null, digest: null });

      const after = await checked(image.id);
      expect(after.availability.state).toBe('AVAILABLE');
      expect(after.availability.url).toMatchObject({
        reference: `${token.host}/library/notebook:v1`,
        state: 'AVAILABLE',
        digest: pushed.digest,
        mediaType: pushed.mediaType,
        compressedSize: pushed.compressedSize,
        platforms: [],
      });
      expect(after.availability.urlForGpu).toBeNull();
      expect(Date.parse(after.availability.url.checkedAt as string)).toBeGreaterThan(Date.now() - 60_000);
    });

    it('a reference without a registry is on REGISTRY_DEFAULT_HOST, under library/, through the token flow', async () => {
      const pushed = await token.push('library/busybox', '1.36', { docker: true });
      const image = await create({ url: 'busybox:1.36' });
      expect((await checked(image.id)).availability.url).toMatchObject({ state: 'AVAILABLE', digest: pushed.digest, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' });
      expect(token.tokenRequests).toContainEqual(expect.objectContaining({ user: null, scope: 'repository:library/busybox:pull', service: token.service, status: 200 }));
    });

    it('a digest reference is AVAILABLE with that digest', async () => {
      const pushed = await token.push('library/pinned', 'v1');
      const image = await create({ url: `${token.host}/library/pinned@${pushed.digest}` });
      expect((await checked(image.id)).availability.url).toMatchObject({ state: 'AVAILABLE', digest: pushed.digest });
    });

    it('a multi-platform index lists its platforms, each with its own size', async () => {
      const pushed = await token.push('library/multi', 'v1', { platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }] });
      const image = await create({ url: `${token.host}/library/multi:v1` });
      const url = (await checked(image.id)).availability.url;
      expect(url).toMatchObject({ state: 'AVAILABLE', digest: pushed.digest, mediaType: 'application/vnd.oci.image.index.v1+json', compressedSize: null });
      expect(url.platforms).toEqual(
        pushed.platforms.map((p) => ({ os: p.os, architecture: p.architecture, variant: p.variant ?? null, digest: p.digest, compressedSize: p.compressedSize })),
      );
    });

    it('a private repository with the right pull secret is AVAILABLE, over Basic auth and over the token flow', async () => {
      const [basicImage, tokenImage] = await Promise.all([basic.push('team/private', 'v1'), token.push('team/private', 'v1')]);
      const tokenSecret = await createPullSecret(app, { registryHost: token.host, username: TOKEN_USER, password: TOKEN_PASSWORD });
      const viaBasic = await create({ url: `${basic.host}/team/private:v1`, pullSecretId: (await basicSecret()).id });
      const viaToken = await create({ url: `${token.host}/team/private:v1`, pullSecretId: tokenSecret.id });
      expect((await checked(viaBasic.id)).availability.url).toMatchObject({ state: 'AVAILABLE', digest: basicImage.digest });
      expect((await checked(viaToken.id)).availability.url).toMatchObject({ state: 'AVAILABLE', digest: tokenImage.digest });
      expect(token.tokenRequests).toContainEqual(expect.objectContaining({ user: TOKEN_USER, scope: 'repository:team/private:pull', status: 200 }));
    });

    it('an unknown tag and an unknown repository are NOT_FOUND, and the message tells which', async () => {
      await basic.push('team/known', 'v1');
      const secret = await basicSecret();
      const tag = await create({ url: `${basic.host}/team/known:nope`, pullSecretId: secret.id });
      const repository = await create({ url: `${basic.host}/team/never-pushed:v1`, pullSecretId: secret.id });
      expect((await checked(tag.id)).availability.url).toMatchObject({ state: 'NOT_FOUND', digest: null, message: 'The registry has no tag "nope" in repository "team/known"' });
      expect((await checked(repository.id)).availability.url).toMatchObject({ state: 'NOT_FOUND', message: 'The registry has no repository "team/never-pushed"' });
    });

    it('a wrong password is UNAUTHORIZED, on Basic auth and on the token service', async () => {
      await Promise.all([basic.push('team/locked', 'v1'), token.push('team/locked', 'v1')]);
      const wrongBasic = await basicSecret(WRONG_PASSWORD);
      const wrongToken = await createPullSecret(app, { registryHost: token.host, username: TOKEN_USER, password: WRONG_PASSWORD });
      const viaBasic = await create({ url: `${basic.host}/team/locked:v1`, pullSecretId: wrongBasic.id });
      const viaToken = await create({ url: `${token.host}/team/locked:v1`, pullSecretId: wrongToken.id });
      expect((await checked(viaBasic.id)).availability.url).toMatchObject({ state: 'UNAUTHORIZED', message: expect.stringContaining('refused the pull secret') });
      expect((await checked(viaToken.id)).availability.url).toMatchObject({ state: 'UNAUTHORIZED', message: expect.stringContaining('token service refused the credentials') });
    });

    it('a private repository without a pull secret is UNAUTHORIZED and says a pull secret is needed, on both kinds of registry', async () => {
      await Promise.all([basic.push('team/needs-secret', 'v1'), token.push('team/needs-secret', 'v1')]);
      const viaBasic = await create({ url: `${basic.host}/team/needs-secret:v1` });
      const viaToken = await create({ url: `${token.host}/team/needs-secret:v1` });
      for (const image of [viaBasic, viaToken]) {
        expect((await checked(image.id)).availability.url).toMatchObject({ state: 'UNAUTHORIZED', message: expect.stringContaining('give the image a pull secret') });
      }
    });

    it('a pull secret for another registry is not sent, and the message says so', async () => {
      await basic.push('team/elsewhere', 'v1');
      const forTheTokenRegistry = await createPullSecret(app, { registryHost: token.host, username: BASIC_USER, password: BASIC_PASSWORD });
      const image = await create({ url: `${basic.host}/team/elsewhere:v1`, pullSecretId: forTheTokenRegistry.id });
      expect((await checked(image.id)).availability.url).toMatchObject({
        state: 'UNAUTHORIZED',
        message: expect.stringContaining(`pull secret is for ${token.host}, so it was not sent here`),
      });
    });
  });

  describe('registries that cannot be asked', () => {
    const servers: FakeServer[] = [];
    afterAll(() => Promise.all(servers.map((server) => server.close())));

    it('a registry that is down is UNREACHABLE: connection refused', async () => {
      const image = await create({ url: `127.0.0.1:${await freePort()}/team/gone:v1` });
      expect((await checked(image.id)).availability.url).toMatchObject({ state: 'UNREACHABLE', message: expect.stringContaining('connection refused') });
    });

    it('a registry that stops is UNREACHABLE, and AVAILABLE again once it is back', async () => {
      await basic.push('team/restarting', 'v1');
      const image = await create({ url: `${basic.host}/team/restarting:v1`, pullSecretId: (await basicSecret()).id });
      expect((await checked(image.id)).availability.state).toBe('AVAILABLE');
      await basic.stop();
      try {
        const down = (await ok<{ checkImage: ImageAvailability }>(CHECK_IMAGE, { id: image.id })).checkImage;
        expect(down.availability.url).toMatchObject({ state: 'UNREACHABLE', message: expect.stringMatching(/connection refused|connection was closed/) });
      } finally {
        await basic.start();
      }
      expect((await ok<{ checkImage: ImageAvailability }>(CHECK_IMAGE, { id: image.id })).checkImage.availability.state).toBe('AVAILABLE');
    });

    it('a registry whose certificate comes from an unknown CA is UNREACHABLE and names REGISTRY_CA_FILE', async () => {
      await strangers.push('team/strange', 'v1');
      const image = await create({ url: `${strangers.host}/team/strange:v1`, pullSecretId: (await basicSecret(BASIC_PASSWORD, strangers.host)).id });
      expect((await checked(image.id)).availability.url).toMatchObject({ state: 'UNREACHABLE', message: expect.stringMatching(/TLS: .*not trusted.*REGISTRY_CA_FILE/) });
    });

    it('a registry that never answers is UNREACHABLE once REGISTRY_TIMEOUT_MS has passed', async () => {
      const silent = await startSilentServer();
      servers.push(silent);
      const started = Date.now();
      const image = await create({ url: `${silent.host}/team/slow:v1` });
      expect((await checked(image.id)).availability.url).toMatchObject({ state: 'UNREACHABLE', message: expect.stringContaining(`no answer within ${TIMEOUT_MS} ms`) });
      expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS);
    });

    it('a registry answering garbage, a server error or a manifest that does not match its digest is UNREACHABLE', async () => {
      const garbage = await startHttpsServer(ca, (req, res) => {
        if (req.url?.includes('/html/')) {
          res.writeHead(200, { 'content-type': 'text/html', 'docker-content-digest': 'sha256:' + 'a'.repeat(64) }).end('<html>hello</html>');
        } else if (req.url?.includes('/broken/')) {
          res.writeHead(503).end('maintenance');
        } else {
          const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { size: 1 }, layers: [] });
          res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': 'sha256:' + 'b'.repeat(64) }).end(req.method === 'HEAD' ? undefined : body);
        }
      });
      servers.push(garbage);
      const html = await create({ url: `${garbage.host}/team/html/app:v1` });
      const broken = await create({ url: `${garbage.host}/team/broken/app:v1` });
      const tampered = await create({ url: `${garbage.host}/team/tampered/app:v1` });
      expect((await checked(html.id)).availability.url).toMatchObject({ state: 'UNREACHABLE', message: expect.stringContaining('not an image manifest') });
      expect((await checked(broken.id)).availability.url).toMatchObject({ state: 'UNREACHABLE', message: expect.stringContaining('HTTP 503') });
      expect((await checked(tampered.id)).availability.url).toMatchObject({ state: 'UNREACHABLE', message: expect.stringContaining('does not match its digest') });
    });

    it('a redirect to another host gets no credentials', async () => {
      const elsewhere = await startHttpsServer(ca, (_req, res) => void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'));
      const redirecting = await startHttpsServer(ca, (req, res) => {
        if (!req.headers.authorization) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
        res.writeHead(307, { location: `https://${elsewhere.host}${req.url}` }).end();
      });
      servers.push(elsewhere, redirecting);
      const image = await create({ url: `${redirecting.host}/team/moved:v1`, pullSecretId: (await basicSecret(BASIC_PASSWORD, redirecting.host)).id });
      expect((await checked(image.id)).availability.url.state).toBe('NOT_FOUND');
      expect(redirecting.requests.some((r) => r.headers.authorization?.startsWith('Basic '))).toBe(true);
      expect(elsewhere.requests.length).toBeGreaterThan(0);
      expect(elsewhere.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
    });

    it('no transaction waits on a registry: writes go on while a check waits for a silent registry', async () => {
      const silent = await startSilentServer();
      servers.push(silent);
      const slow = await create({ url: `${silent.host}/team/slow:v2` });
      await checked(slow.id);
      const order: string[] = [];
      const check = ok(CHECK_IMAGE, { id: slow.id }).then(() => order.push('check'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const other = await createImage(app, { url: 'lab/elsewhere:1' });
      order.push('create');
      await ok(UPDATE, { id: slow.id, input: { description: 'changed while its check waits' } });
      order.push('update');
      await check;
      expect(order).toEqual(['create', 'update', 'check']);
      expect(other.id).toBeTruthy();
    });
  });

  describe('checkImage, rechecks after changes, and the audit trail', () => {
    it('checkImage checks now, and a change of state is audited with the admin as actor', async () => {
      const secret = await basicSecret();
      const image = await create({ url: `${basic.host}/team/later:v1`, pullSecretId: secret.id });
      expect((await checked(image.id)).availability.state).toBe('NOT_FOUND');
      const pushed = await basic.push('team/later', 'v1');
      const after = (await ok<{ checkImage: ImageAvailability }>(CHECK_IMAGE, { id: image.id })).checkImage;
      expect(after.availability.url).toMatchObject({ state: 'AVAILABLE', digest: pushed.digest });

      const events = await ok<{ auditEvents: { nodes: { operation: string; actor: string; changes: unknown[] }[] } }>(
        'query ($id: ID) { auditEvents(filter: { entityId: $id }) { nodes { operation actor changes { field oldValue newValue } } } }',
        { id: image.id },
      );
      // The first result after the create is no event of its own; the change it saw is.
      expect(events.auditEvents.nodes.filter((e) => e.operation === 'CHECK')).toEqual([
        { operation: 'CHECK', actor: 'test-admin', changes: [{ field: 'availability.url', oldValue: 'NOT_FOUND', newValue: 'AVAILABLE' }] },
      ]);
      // Checking again finds the same: no new event.
      await ok(CHECK_IMAGE, { id: image.id });
      expect(await app.rowCount('audit_events', "entityId = ? AND operation = 'CHECK'", [image.id])).toBe(1);
    });

    it('checkImage of an unknown image is NOT_FOUND, and members may not call it', async () => {
      const error = await app.fails(CHECK_IMAGE, { id: '00000000-0000-4000-8000-000000000000' });
      expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
      const member = await app.caller({ sub: 'member', groups: [] });
      expect((await member.fails(CHECK_IMAGE, { id: '00000000-0000-4000-8000-000000000000' })).extensions?.code).toBe('FORBIDDEN');
    });

    it('a new url is UNCHECKED at once and checked again', async () => {
      const [first, second] = await Promise.all([token.push('library/moving', 'v1'), token.push('library/moving', 'v2')]);
      const image = await create({ url: `${token.host}/library/moving:v1` });
      expect((await checked(image.id)).availability.url.digest).toBe(first.digest);
      const updated = (await ok<{ updateImage: ImageAvailability }>(UPDATE, { id: image.id, input: { url: `${token.host}/library/moving:v2` } })).updateImage;
      expect(updated.availability.url).toMatchObject({ state: 'UNCHECKED', reference: `${token.host}/library/moving:v2` });
      expect((await checked(image.id)).availability.url).toMatchObject({ state: 'AVAILABLE', digest: second.digest });
    });

    it('a pull secret whose password is corrected makes its images AVAILABLE', async () => {
      await basic.push('team/fixed', 'v1');
      const secret = await basicSecret(WRONG_PASSWORD);
      const image = await create({ url: `${basic.host}/team/fixed:v1`, pullSecretId: secret.id });
      expect((await checked(image.id)).availability.state).toBe('UNAUTHORIZED');
      await ok('mutation ($id: ID!, $input: UpdateImagePullSecretInput!) { updateImagePullSecret(id: $id, input: $input) { id } }', { id: secret.id, input: { password: BASIC_PASSWORD } });
      expect((await availabilityOf(image.id)).availability.state).toBe('UNCHECKED');
      expect((await checked(image.id)).availability.state).toBe('AVAILABLE');
    });

    it('a UNIVERSAL image checks both urls: the worse state is the image\'s, and availabilityFor(gpu:) is the one a launcher pulls', async () => {
      await token.push('library/uni', 'cpu');
      const group = await createGroup(app);
      const image = await create({ type: 'UNIVERSAL', url: `${token.host}/library/uni:cpu`, urlForGpu: `${token.host}/library/uni:cuda`, groupIds: [group.id] });
      const after = await checked(image.id);
      expect(after.availability.state).toBe('NOT_FOUND');
      expect(after.availability.url.state).toBe('AVAILABLE');
      expect(after.availability.urlForGpu).toMatchObject({ reference: `${token.host}/library/uni:cuda`, state: 'NOT_FOUND' });

      const member = await app.caller({ sub: 'launcher-user', groups: [group.name] });
      const launch = 'query ($g: ID!, $gpu: Boolean!, $only: Boolean) { launchableImages(groupId: $g, gpu: $gpu, onlyAvailable: $only) { id url: urlFor(gpu: $gpu) availabilityFor(gpu: $gpu) { state reference } } }';
      type Launchable = { launchableImages: { id: string; url: string; availabilityFor: { state: string; reference: string } }[] };
      const mine = (list: Launchable) => list.launchableImages.filter((i) => i.id === image.id);
      expect(mine(await ok<Launchable>(launch, { g: group.id, gpu: false }, member))).toEqual([
        { id: image.id, url: `${token.host}/library/uni:cpu`, availabilityFor: { state: 'AVAILABLE', reference: `${token.host}/library/uni:cpu` } },
      ]);
      expect(mine(await ok<Launchable>(launch, { g: group.id, gpu: true }, member))).toEqual([
        { id: image.id, url: `${token.host}/library/uni:cuda`, availabilityFor: { state: 'NOT_FOUND', reference: `${token.host}/library/uni:cuda` } },
      ]);
      expect(mine(await ok<Launchable>(launch, { g: group.id, gpu: false, only: true }, member))).toHaveLength(1);
      expect(mine(await ok<Launchable>(launch, { g: group.id, gpu: true, only: true }, member))).toHaveLength(0);

      const filtered = (states: string[]) =>
        ok<{ images: { nodes: { id: string }[] } }>('query ($s: [ImageAvailabilityState!]) { images(first: 100, filter: { availability: $s, groupId: "' + group.id + '" }) { nodes { id } } }', { s: states });
      expect((await filtered(['NOT_FOUND'])).images.nodes).toEqual([{ id: image.id }]);
      expect((await filtered(['AVAILABLE', 'UNCHECKED'])).images.nodes).toEqual([]);
    });

    it('the list filter finds UNCHECKED images, which have no result yet', async () => {
      const silent = await startSilentServer();
      try {
        const group = await createGroup(app);
        const image = await create({ url: `${silent.host}/team/waiting:v1`, groupIds: [group.id] });
        const filtered = await ok<{ images: { nodes: { id: string }[] } }>(
          'query ($g: ID) { images(filter: { availability: [UNCHECKED], groupId: $g }) { nodes { id } } }',
          { g: group.id },
        );
        expect(filtered.images.nodes).toEqual([{ id: image.id }]);
      } finally {
        await silent.close();
      }
    });
  });

  describe('pinDigest', () => {
    it('stores the url pinned to the digest its tag resolves to, with the pull secret\'s credentials', async () => {
      const pushed = await basic.push('team/pin-me', '2024.1');
      const image = await create({ url: `${basic.host}/team/pin-me:2024.1`, pullSecretId: (await basicSecret()).id, pinDigest: true });
      expect(image.url).toBe(`${basic.host}/team/pin-me:2024.1@${pushed.digest}`);
      expect((await checked(image.id)).availability.url).toMatchObject({ state: 'AVAILABLE', digest: pushed.digest });
    });

    it('pins afresh on update when the tag has moved, and pins the GPU url too', async () => {
      const first = await token.push('library/repin', 'latest');
      const gpu = await token.push('library/repin', 'cuda');
      const image = await create({ url: `${token.host}/library/repin`, pinDigest: true });
      expect(image.url).toBe(`${token.host}/library/repin@${first.digest}`);
      const second = await token.push('library/repin', 'latest');
      const updated = (await ok<{ updateImage: ImageAvailability }>(UPDATE, { id: image.id, input: { url: `${token.host}/library/repin:latest`, urlForGpu: `${token.host}/library/repin:cuda`, pinDigest: true } })).updateImage;
      expect(updated.url).toBe(`${token.host}/library/repin:latest@${second.digest}`);
      expect(updated.urlForGpu).toBe(`${token.host}/library/repin:cuda@${gpu.digest}`);
    });

    it('a tag the registry does not have cannot be pinned: BAD_USER_INPUT on the field, and nothing is written', async () => {
      const name = uniqueName('img');
      const before = await app.rowCount('images');
      const error = await app.fails(CREATE, { input: { name, url: `${token.host}/library/nothing-here:v1`, pinDigest: true } });
      expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'url', message: expect.stringContaining('cannot be pinned (NOT_FOUND)') }] });
      expect(await app.rowCount('images')).toBe(before);
    });
  });

  describe('checkImagePullSecret', () => {
    it('says NOT_REQUIRED when the registry lets anyone in at /v2/', async () => {
      const open = await startHttpsServer(ca, (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      try {
        const secret = await createPullSecret(app, { registryHost: open.host, username: 'u', password: WRONG_PASSWORD });
        const { checkImagePullSecret } = await ok<{ checkImagePullSecret: { state: string; message: string } }>(CHECK_SECRET, { id: secret.id });
        expect(checkImagePullSecret).toMatchObject({ state: 'NOT_REQUIRED', message: expect.stringContaining('cannot tell') });
        expect(open.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/']);
      } finally {
        await open.close();
      }
    });

    it('says whether the registry accepts the credentials, over Basic auth and the token service, pulling nothing', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ registryHost: basic.host, username: BASIC_USER, password: BASIC_PASSWORD }, 'ACCEPTED'],
        [{ registryHost: basic.host, username: BASIC_USER, password: WRONG_PASSWORD }, 'REJECTED'],
        [{ registryHost: token.host, username: TOKEN_USER, password: TOKEN_PASSWORD }, 'ACCEPTED'],
        [{ registryHost: token.host, username: TOKEN_USER, password: WRONG_PASSWORD }, 'REJECTED'],
        [{ registryHost: `127.0.0.1:${await freePort()}`, username: 'x', password: WRONG_PASSWORD }, 'UNREACHABLE'],
      ];
      for (const [input, state] of cases) {
        const secret = await createPullSecret(app, input);
        const before = token.tokenRequests.length;
        const { checkImagePullSecret } = await ok<{ checkImagePullSecret: { secret: { id: string }; registryHost: string; state: string; message: string } }>(CHECK_SECRET, { id: secret.id });
        expect(checkImagePullSecret).toMatchObject({ secret: { id: secret.id }, registryHost: input.registryHost, state });
        // A login asks for no repository.
        for (const request of token.tokenRequests.slice(before)) expect(request.scope).toBeNull();
      }
    });
  });

  describe('metrics', () => {
    it('/metrics counts the references checked by state, and the backlog drains', async () => {
      await token.push('library/counted', 'v1');
      await checked((await create({ url: `${token.host}/library/counted:v1` })).id);
      await checked((await create({ url: `${token.host}/library/counted:missing` })).id);
      const metrics = async () => (await fetch(new URL('/metrics', app.url))).text();
      const deadline = Date.now() + 10_000;
      let text = await metrics();
      while (!/^image_catalog_registry_check_backlog 0$/m.test(text)) {
        if (Date.now() > deadline) throw new Error(`the backlog did not drain:\n${text.split('\n').filter((l) => l.includes('registry')).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        text = await metrics();
      }
      const count = (state: string) => Number(new RegExp(`^image_catalog_registry_checks_total\\{state="${state}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      for (const state of ['AVAILABLE', 'NOT_FOUND']) expect(count(state)).toBeGreaterThan(0);
      expect(count('UNCHECKED')).toBe(0);
    });
  });

  describe('secrets', () => {
    it('no registry password, in clear or as a Basic header, appears in any answer, log line or audit event', async () => {
      const audit = await app.dataSource.query('SELECT changes FROM audit_events');
      const everything = [...responses, ...app.logs.map((line) => JSON.stringify(line)), JSON.stringify(audit)].join('\n');
      expect(responses.length).toBeGreaterThan(20);
      const basicForms = [BASIC_USER, TOKEN_USER].flatMap((user) => PASSWORDS.map((password) => Buffer.from(`${user}:${password}`).toString('base64')));
      for (const secret of [...PASSWORDS, ...basicForms]) expect(everything).not.toContain(secret);
    });
  });

  describe('the scheduled recheck', () => {
    let rechecking: TestApp;
    beforeAll(async () => {
      rechecking = await startTestApp({ env: registryEnv({ REGISTRY_RECHECK_INTERVAL: '1s', REGISTRY_RECHECK_BATCH: '5' }) });
    });
    afterAll(() => rechecking?.close());

    it('notices a tag deleted after registration, and audits it as the system', async () => {
      const pushed = await token.push('library/ephemeral', 'v1');
      const id = (await rechecking.ok<{ createImage: { id: string } }>(CREATE, { input: { name: uniqueName('img'), url: `${token.host}/library/ephemeral:v1` } })).createImage.id;
      const state = async () => (await rechecking.ok<{ image: ImageAvailability }>(IMAGE_AVAILABILITY, { id })).image.availability.url.state;
      const waitFor = async (expected: string) => {
        const deadline = Date.now() + 15_000;
        while ((await state()) !== expected) {
          if (Date.now() > deadline) throw new Error(`not ${expected} within 15 s`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      await waitFor('AVAILABLE');
      await token.deleteManifest('library/ephemeral', pushed.digest);
      await waitFor('NOT_FOUND');
      const events: { actor: string; changes: string }[] = await rechecking.dataSource.query(
        "SELECT actor, changes FROM audit_events WHERE entityId = ? AND operation = 'CHECK' ORDER BY occurredAt DESC, id DESC",
        [id],
      );
      expect(events[0].actor).toBe('system:registry-check');
      expect(JSON.parse(events[0].changes)).toEqual([{ field: 'availability.url', oldValue: 'AVAILABLE', newValue: 'NOT_FOUND' }]);
    });
  });

  describe('with REGISTRY_CHECKS=off', () => {
    let offline: TestApp;
    beforeAll(async () => {
      offline = await startTestApp({ env: { REGISTRY_CHECKS: 'off' } });
    });
    afterAll(() => offline?.close());

    it('images stay UNCHECKED and say why; checkImage, checkImagePullSecret and pinDigest refuse with a stable code', async () => {
      const image = (await offline.ok<{ createImage: ImageAvailability }>(CREATE, { input: { name: uniqueName('img'), url: 'jupyter/base-notebook:2023-10-20' } })).createImage;
      expect(image.availability.url).toMatchObject({ state: 'UNCHECKED', message: 'Registry checks are off (REGISTRY_CHECKS=off)' });
      expect((await offline.fails(CHECK_IMAGE, { id: image.id })).extensions?.code).toBe('REGISTRY_CHECKS_OFF');
      const secret = await createPullSecret(offline);
      expect((await offline.fails(CHECK_SECRET, { id: secret.id })).extensions?.code).toBe('REGISTRY_CHECKS_OFF');
      const pin = await offline.fails(CREATE, { input: { name: uniqueName('img'), url: 'jupyter/base-notebook:2023-10-20', pinDigest: true } });
      expect(pin.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'pinDigest' }] });
    });
  });
});
