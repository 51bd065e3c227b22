import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, createPrivateKey, KeyObject, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { freePort } from './free-port';
import { terminate } from './terminate';

/**
 * Real CNCF distribution registries (Debian's docker-registry 2.8.2) of a test's own, on loopback,
 * each on its own port and storage directory: one with htpasswd Basic auth, one with Docker Hub–like
 * token auth backed by a small token server in this file. Images are pushed through the registry's
 * HTTP API, so no Docker engine is needed. Nothing here contacts any address but 127.0.0.1.
 */

const REGISTRY = '/usr/bin/docker-registry';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const OPENSSL_TIMEOUT_MS = 20_000;

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface TestCa {
  dir: string;
  /** PEM of the CA certificate (what a client must trust). */
  caFile: string;
  /** A server certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1, DNS:localhost) signed by the CA, and its key. */
  certFile: string;
  keyFile: string;
  /** The contents of caFile. */
  caPem: string;
  destroy(): void;
}

export interface PushedPlatform {
  os: string;
  architecture: string;
  variant?: string;
  digest: string;
  compressedSize: number;
}

export interface PushedImage {
  repository: string;
  tag: string;
  /** Digest of what the tag points at: the manifest, or the index when platforms were given. */
  digest: string;
  mediaType: string;
  /** For a single manifest: config.size + sum of layers' sizes. For an index: null. */
  compressedSize: number | null;
  /** For an index: one entry per platform (each a pushed single manifest with its own size); [] for a single manifest. */
  platforms: PushedPlatform[];
}

export interface PushOptions {
  /** Push an OCI image index (application/vnd.oci.image.index.v1+json) with one OCI manifest per platform. */
  platforms?: { os: string; architecture: string; variant?: string }[];
  /**
   * Use Docker's media types (application/vnd.docker.distribution.manifest.v2+json) instead of OCI's for a
   * single manifest. With platforms: a Docker manifest list of Docker manifests instead of an OCI index.
   */
  docker?: boolean;
}

export interface RegistryReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface TestRegistry {
  /** "127.0.0.1:<port>" — what goes before the repository in an image reference. */
  host: string;
  port: number;
  /** https://127.0.0.1:<port> */
  url: string;
  /** The registry's temp dir (config, storage, registry.log). */
  dir: string;
  /** Milliseconds the last start and stop took. */
  timings: { startMs: number; stopMs?: number };
  /** Pushes through the registry's HTTP API: blob uploads (POST /v2/<repo>/blobs/uploads/, then PUT Location?digest=) for a config blob and one random layer (unique bytes on every call, a few KB), then PUT /v2/<repo>/manifests/<tag>. Verifies the Docker-Content-Digest it gets back equals sha256 of the bytes it sent. */
  push(repository: string, tag: string, options?: PushOptions): Promise<PushedImage>;
  /** DELETE /v2/<repo>/manifests/<digest> (storage.delete.enabled is on), so every tag pointing at it is gone. */
  deleteManifest(repository: string, digest: string): Promise<void>;
  /**
   * One raw HTTPS request to this registry (path like /v2/...), trusting the test CA, sending only the given
   * headers (so anonymous unless an Authorization is given). Never follows redirects.
   */
  request(method: string, path: string, headers?: Record<string, string>, body?: Buffer): Promise<RegistryReply>;
  /** An Authorization header value with every right on the repository (what push and deleteManifest use). */
  authorization(repository: string): Promise<string>;
  /** The last lines the registry wrote to its log (level error). */
  log(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** Start again on the same port and storage. */
  start(): Promise<void>;
  /** stop + remove its temp dir. */
  destroy(): Promise<void>;
}

export interface BasicAuthRegistry extends TestRegistry {
  /** The htpasswd realm, as it appears in `WWW-Authenticate: Basic realm="..."`. */
  realm: string;
  /** A user of the helper's own (besides the given ones), which push and deleteManifest use. */
  helperUser: { user: string; password: string };
}

export interface TokenRequest {
  user: string | null;
  scope: string | null;
  service: string | null;
  /** The status the token server answered with. */
  status: number;
}

export interface TokenRegistry extends TestRegistry {
  /** The token server's realm URL (http://127.0.0.1:<port>/token), plain node:http on loopback. */
  realm: string;
  service: string;
  issuer: string;
  /** Every request the token server received: whether it carried Basic credentials and for which user, and the scope asked for. Never the password. */
  tokenRequests: TokenRequest[];
}

// One exit hook for every registry this module started: a crashed test run must not leave registries
// running (or their temp dirs behind).
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHooked = false;
function onExitCleanUp(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

function tempDir(kind: string): string {
  onExitCleanUp();
  const dir = mkdtempSync(join(tmpdir(), `image-catalog-${kind}-`));
  liveDirs.add(dir);
  return dir;
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

function run(file: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: OPENSSL_TIMEOUT_MS, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args[0]} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Made with the openssl CLI: a CA (its own key, self-signed, basicConstraints CA:TRUE) and a server cert signed by it. */
export async function makeTestCa(): Promise<TestCa> {
  const dir = tempDir('test-ca');
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  // Own config files, so the system's openssl.cnf adds nothing.
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      'x509_extensions = v3_ca',
      '[dn]',
      `CN = image-catalog test CA ${randomBytes(4).toString('hex')}`,
      '[v3_ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'server.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = 127.0.0.1',
      '[v3_server]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = IP:127.0.0.1,DNS:localhost',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  try {
    const rsa = ['-newkey', 'rsa:2048', '-nodes'];
    await Promise.all([
      run('openssl', ['req', '-x509', '-new', '-config', 'ca.cnf', ...rsa, '-keyout', caKey, '-out', caFile, '-days', '30', '-sha256'], dir),
      run('openssl', ['req', '-new', '-config', 'server.cnf', ...rsa, '-keyout', keyFile, '-out', join(dir, 'server.csr'), '-sha256'], dir),
    ]);
    const serial = `0x${randomBytes(8).toString('hex')}`;
    await run('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', caFile, '-CAkey', caKey, '-set_serial', serial, '-days', '30', '-sha256', '-extfile', 'server.cnf', '-extensions', 'v3_server', '-out', certFile], dir);
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  return { dir, caFile, certFile, keyFile, caPem: readFileSync(caFile, 'utf8'), destroy: () => removeDir(dir) };
}

/** TLS with the CA's server cert, htpasswd Basic auth (bcrypt via `htpasswd -Bbn`) for the given users. */
export async function startBasicAuthRegistry(ca: TestCa, users: Record<string, string>): Promise<BasicAuthRegistry> {
  const dir = tempDir('test-registry');
  const helperUser = { user: `helper-${randomBytes(4).toString('hex')}`, password: randomBytes(12).toString('hex') };
  const realm = 'test-registry';
  try {
    const lines = await Promise.all([...Object.entries(users), [helperUser.user, helperUser.password]].map(([user, password]) => run('htpasswd', ['-Bbn', user, password])));
    writeFileSync(join(dir, 'htpasswd'), lines.map((line) => line.trim()).join('\n') + '\n');
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  const helperAuth = `Basic ${Buffer.from(`${helperUser.user}:${helperUser.password}`).toString('base64')}`;
  const registry = await startRegistry(dir, ca, [`auth:`, `  htpasswd:`, `    realm: ${JSON.stringify(realm)}`, `    path: ${JSON.stringify(join(dir, 'htpasswd'))}`], async () => helperAuth);
  return Object.assign(registry, { realm, helperUser });
}

/**
 * TLS registry with `auth.token` (realm, service, issuer, rootcertbundle) backed by a small node:http token
 * server written in this file (jose for signing). Docker Hub–like rules:
 *  - GET /token?service=..&scope=repository:<name>:pull[,push] with optional Basic auth.
 *  - Wrong password for a known user, or unknown user → 401 (JSON {"errors":[...]}) .
 *  - Anonymous: pull on repositories whose name starts with `publicPrefix`, nothing else (token with empty access for others — the registry then answers 401 insufficient scope, as Docker Hub does).
 *  - A known user with the right password: pull on every repository.
 *  - Push is granted only to the helper's own pushes (push() mints its own token directly).
 *  - Without scope (a login check: GET /token?service=..&account=user): 200 with a token for valid credentials, 401 for wrong ones.
 *  - Answers {"token": ..., "access_token": ..., "expires_in": 300, "issued_at": ...}.
 * The token's audience is the `service` the client asked for (the configured one when it sent none), so a
 * client sending the wrong service gets a token the registry refuses, as with Docker Hub.
 */
export async function startTokenAuthRegistry(ca: TestCa, options: { users: Record<string, string>; publicPrefix: string }): Promise<TokenRegistry> {
  const dir = tempDir('test-registry');
  const service = 'test-registry';
  const issuer = 'test-token-issuer';
  let signingKey: KeyObject;
  let x5c: string;
  try {
    // The token signing certificate: self-signed, and the registry's rootcertbundle.
    writeFileSync(
      join(dir, 'token.cnf'),
      ['[req]', 'distinguished_name = dn', 'prompt = no', 'x509_extensions = v3', '[dn]', 'CN = test token issuer', '[v3]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,digitalSignature,keyCertSign', ''].join('\n'),
    );
    await run('openssl', ['req', '-x509', '-new', '-config', 'token.cnf', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'token.key', '-out', 'token.pem', '-days', '30', '-sha256'], dir);
    signingKey = createPrivateKey(readFileSync(join(dir, 'token.key')));
    x5c = new X509Certificate(readFileSync(join(dir, 'token.pem'))).raw.toString('base64');
  } catch (error) {
    removeDir(dir);
    throw error;
  }

  const mint = (subject: string, audience: string, access: Access[]) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', x5c: [x5c] })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(subject)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + 300)
      .setJti(randomUUID())
      .sign(signingKey);
  };

  const tokenRequests: TokenRequest[] = [];
  const tokenServer = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      answer(404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
      return;
    }
    const scopes = url.searchParams.getAll('scope').flatMap((scope) => scope.split(' ')).filter((scope) => scope !== '');
    const requestedService = url.searchParams.get('service');
    const credentials = parseBasic(req.headers.authorization);
    const record: TokenRequest = { user: credentials?.user ?? null, scope: scopes.length > 0 ? scopes.join(' ') : null, service: requestedService, status: 0 };
    tokenRequests.push(record);
    if (credentials && !(Object.hasOwn(options.users, credentials.user) && options.users[credentials.user] === credentials.password)) {
      record.status = 401;
      answer(401, { errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password', detail: null }] });
      return;
    }
    const access: Access[] = scopes.map((scope) => {
      const { type, name, actions } = parseScope(scope);
      const pullable = type === 'repository' && (credentials !== undefined || name.startsWith(options.publicPrefix));
      return { type, name, actions: pullable && actions.includes('pull') ? ['pull'] : [] };
    });
    mint(credentials?.user ?? '', requestedService ?? service, access).then(
      (token) => {
        record.status = 200;
        answer(200, { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
      },
      (error: Error) => {
        record.status = 500;
        answer(500, { errors: [{ code: 'UNKNOWN', message: error.message }] });
      },
    );
  });
  let tokenPort: number;
  try {
    tokenPort = await listen(tokenServer);
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  const realm = `http://127.0.0.1:${tokenPort}/token`;
  const closeTokenServer = () => {
    tokenServer.closeAllConnections();
    return new Promise<void>((resolve) => tokenServer.close(() => resolve()));
  };

  let registry: TestRegistry;
  try {
    registry = await startRegistry(
      dir,
      ca,
      ['auth:', '  token:', `    realm: ${JSON.stringify(realm)}`, `    service: ${JSON.stringify(service)}`, `    issuer: ${JSON.stringify(issuer)}`, `    rootcertbundle: ${JSON.stringify(join(dir, 'token.pem'))}`],
      async (repository) => `Bearer ${await mint('test-registry-helper', service, [{ type: 'repository', name: repository, actions: ['pull', 'push', 'delete', '*'] }])}`,
    );
  } catch (error) {
    await closeTokenServer();
    throw error;
  }
  const destroyRegistry = registry.destroy;
  return Object.assign(registry, {
    realm,
    service,
    issuer,
    tokenRequests,
    destroy: async () => {
      await closeTokenServer();
      await destroyRegistry();
    },
  });
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

function parseScope(scope: string): Access {
  // type:name:actions; a name may hold a colon only in the registry:catalog:* style, so split at the ends.
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return { type: scope, name: '', actions: [] };
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',') };
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

async function startRegistry(dir: string, ca: TestCa, authConfig: string[], authorization: (repository: string) => Promise<string>): Promise<TestRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const base = `https://${host}`;
  const configFile = join(dir, 'config.yml');
  const logFile = join(dir, 'registry.log');
  writeFileSync(
    configFile,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(join(dir, 'storage'))}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: ${JSON.stringify(host)}`,
      `  secret: ${JSON.stringify(randomBytes(24).toString('hex'))}`,
      '  headers:',
      '    X-Content-Type-Options: [nosniff]',
      '  tls:',
      `    certificate: ${JSON.stringify(ca.certFile)}`,
      `    key: ${JSON.stringify(ca.keyFile)}`,
      ...authConfig,
      '',
    ].join('\n'),
  );
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no registry log)';
    }
  };

  const caPem = readFileSync(ca.caFile, 'utf8');
  // No keep-alive: no sockets left open when the registry stops or the test ends.
  const agent = new Agent({ ca: caPem, keepAlive: false });
  const request = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<RegistryReply> => {
    const url = new URL(path, base);
    // Only ever this registry: a Location pointing elsewhere is a failure, not somewhere to go.
    if (url.host !== host || url.protocol !== 'https:') return Promise.reject(new Error(`refusing to contact ${url.origin} (the registry is ${base})`));
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method, agent, headers: body ? { 'Content-Length': String(body.length), ...headers } : headers, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.href} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  };

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const timings: TestRegistry['timings'] = { startMs: 0 };
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const start = async () => {
    if (running()) return;
    const started = Date.now();
    const logFd = openSync(logFile, 'a');
    let server: ChildProcess;
    try {
      // A clean environment: REGISTRY_* variables would override the config file.
      server = spawn(REGISTRY, ['serve', configFile], { cwd: dir, stdio: ['ignore', logFd, logFd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    } finally {
      closeSync(logFd);
    }
    child = server;
    liveChildren.add(server);
    let spawnError = '';
    exited = new Promise((resolve) => {
      server.once('exit', () => {
        liveChildren.delete(server);
        resolve();
      });
      server.once('error', (error) => {
        liveChildren.delete(server);
        spawnError = `${REGISTRY}: ${error.message}\n`;
        resolve();
      });
    });
    let gone = false;
    void exited.then(() => (gone = true));
    const deadline = Date.now() + START_TIMEOUT_MS;
    let lastError = '';
    for (;;) {
      if (gone) throw new Error(`docker-registry exited while starting:\n${spawnError}${log()}`);
      try {
        const reply = await request('GET', '/v2/');
        if (reply.status === 200 || reply.status === 401) break;
        lastError = `GET /v2/ answered ${reply.status}`;
      } catch (error) {
        lastError = (error as Error).message;
      }
      if (Date.now() > deadline) {
        server.kill('SIGKILL');
        throw new Error(`docker-registry did not answer within ${START_TIMEOUT_MS} ms (${lastError}):\n${log()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    timings.startMs = Date.now() - started;
  };

  const stop = async () => {
    const server = child;
    if (!server || !running()) return;
    timings.stopMs = await terminate(server, exited, STOP_TIMEOUT_MS);
  };

  const expectStatus = (reply: RegistryReply, expected: number, what: string) => {
    if (reply.status !== expected) throw new Error(`${what}: expected ${expected}, got ${reply.status} ${reply.body.toString('utf8').slice(0, 500)}\n${log()}`);
  };

  const uploadBlob = async (repository: string, auth: string, bytes: Buffer): Promise<string> => {
    const digest = sha256(bytes);
    const begun = await request('POST', `/v2/${repository}/blobs/uploads/`, { Authorization: auth, 'Content-Length': '0' });
    expectStatus(begun, 202, `POST /v2/${repository}/blobs/uploads/`);
    const location = begun.headers.location;
    if (!location) throw new Error(`POST /v2/${repository}/blobs/uploads/ answered 202 without a Location`);
    const target = `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    const put = await request('PUT', target, { Authorization: auth, 'Content-Type': 'application/octet-stream' }, bytes);
    expectStatus(put, 201, `PUT blob ${digest} to ${repository}`);
    const answered = put.headers['docker-content-digest'];
    if (answered !== digest) throw new Error(`blob upload to ${repository}: Docker-Content-Digest ${String(answered)}, sent ${digest}`);
    return digest;
  };

  const putManifest = async (repository: string, reference: string, auth: string, mediaType: string, bytes: Buffer): Promise<string> => {
    const digest = sha256(bytes);
    const put = await request('PUT', `/v2/${repository}/manifests/${reference}`, { Authorization: auth, 'Content-Type': mediaType }, bytes);
    expectStatus(put, 201, `PUT /v2/${repository}/manifests/${reference}`);
    const answered = put.headers['docker-content-digest'];
    if (answered !== digest) throw new Error(`PUT /v2/${repository}/manifests/${reference}: Docker-Content-Digest ${String(answered)}, sent ${digest}`);
    return digest;
  };

  /** A config blob and one random layer, then the manifest under `reference` (a tag) or its own digest. */
  const pushManifest = async (repository: string, reference: string | undefined, auth: string, platform: { os: string; architecture: string; variant?: string }, docker: boolean) => {
    const layerTar = tarOneFile('random.bin', randomBytes(3072 + Math.floor(Math.random() * 2048)));
    const layer = gzipSync(layerTar);
    const config = Buffer.from(
      JSON.stringify({
        created: new Date().toISOString(),
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
        history: [{ created: new Date().toISOString(), created_by: 'test-registry helper' }],
      }),
    );
    const [configDigest, layerDigest] = await Promise.all([uploadBlob(repository, auth, config), uploadBlob(repository, auth, layer)]);
    const mediaType = docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        config: { mediaType: docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig, digest: configDigest, size: config.length },
        layers: [{ mediaType: docker ? MEDIA_TYPES.dockerLayer : MEDIA_TYPES.ociLayer, digest: layerDigest, size: layer.length }],
      }),
    );
    const digest = await putManifest(repository, reference ?? sha256(manifest), auth, mediaType, manifest);
    return { digest, mediaType, size: manifest.length, compressedSize: config.length + layer.length };
  };

  const push = async (repository: string, tag: string, options: PushOptions = {}): Promise<PushedImage> => {
    const auth = await authorization(repository);
    const docker = options.docker === true;
    if (options.platforms && options.platforms.length > 0) {
      const platforms: PushedPlatform[] = [];
      const entries: unknown[] = [];
      for (const platform of options.platforms) {
        const pushed = await pushManifest(repository, undefined, auth, platform, docker);
        const described = { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}) };
        entries.push({ mediaType: pushed.mediaType, digest: pushed.digest, size: pushed.size, platform: described });
        platforms.push({ ...described, digest: pushed.digest, compressedSize: pushed.compressedSize });
      }
      const mediaType = docker ? MEDIA_TYPES.dockerManifestList : MEDIA_TYPES.ociIndex;
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests: entries }));
      const digest = await putManifest(repository, tag, auth, mediaType, index);
      return { repository, tag, digest, mediaType, compressedSize: null, platforms };
    }
    const pushed = await pushManifest(repository, tag, auth, { os: 'linux', architecture: 'amd64' }, docker);
    return { repository, tag, digest: pushed.digest, mediaType: pushed.mediaType, compressedSize: pushed.compressedSize, platforms: [] };
  };

  const deleteManifest = async (repository: string, digest: string) => {
    const reply = await request('DELETE', `/v2/${repository}/manifests/${digest}`, { Authorization: await authorization(repository) });
    expectStatus(reply, 202, `DELETE /v2/${repository}/manifests/${digest}`);
  };

  try {
    await start();
  } catch (error) {
    await stop();
    agent.destroy();
    removeDir(dir);
    throw error;
  }

  return {
    host,
    port,
    url: base,
    dir,
    timings,
    push,
    deleteManifest,
    request,
    authorization,
    log,
    stop,
    start,
    destroy: async () => {
      await stop();
      agent.destroy();
      removeDir(dir);
    },
  };
}

/** A ustar archive holding one regular file (what a real layer is: a gzipped tar). */
function tarOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, '0') + '\0';
  header.write(name, 0, 100, 'utf8');
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(content.length, 12), 124, 'ascii');
  header.write(octal(Math.floor(Date.now() / 1000), 12), 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let checksum = 0;
  for (const byte of header) checksum += byte;
  header.write(`${checksum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}
