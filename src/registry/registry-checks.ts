import { AuthRefusedError, basicAuthorization, Credentials, RegistrySession, TokenCache } from './registry-auth';
import { CHECK_DEADLINE_FACTOR, RegistryHttp, RegistryHttpSettings, UnreachableError } from './registry-http';
import { MANIFEST_ACCEPT, NotAManifestError, parseManifest, sha256Digest } from './manifest';
import { parseImageReference, registryApiHost } from './image-reference';
import { parseChallenges } from './www-authenticate';

export type AvailabilityState = 'AVAILABLE' | 'NOT_FOUND' | 'UNAUTHORIZED' | 'UNREACHABLE' | 'UNCHECKED';
export type LoginState = 'ACCEPTED' | 'REJECTED' | 'NOT_REQUIRED' | 'UNREACHABLE';

export interface PlatformCheck {
  os: string;
  architecture: string;
  variant: string | null;
  digest: string;
  compressedSize: number | null;
}

/** What the registry said about one image reference. */
export interface ReferenceCheck {
  reference: string;
  state: AvailabilityState;
  digest: string | null;
  mediaType: string | null;
  platforms: PlatformCheck[];
  compressedSize: number | null;
  message: string;
  checkedAt: string;
}

export interface LoginCheck {
  registryHost: string;
  state: LoginState;
  message: string;
  checkedAt: string;
}

export interface RegistrySettings extends RegistryHttpSettings {
  /** Where references without a registry live (REGISTRY_DEFAULT_HOST, Docker Hub by default). */
  defaultHost: string;
}

/** Index entries whose sizes are looked up; an index of more platforms lists the rest without a size. */
const MAX_PLATFORM_LOOKUPS = 16;

class NotFoundError extends Error {}

/**
 * The registry protocol's two questions: can this reference be pulled with these credentials
 * (HEAD, then GET only when the digest is new), and does the registry accept these credentials.
 * Every outcome is a value; nothing here throws for a registry's answer.
 */
export class RegistryChecks {
  private readonly http: RegistryHttp;
  private readonly tokens = new TokenCache();

  constructor(private readonly settings: RegistrySettings) {
    this.http = new RegistryHttp(settings);
  }

  /**
   * `previous`, when it is this reference's last AVAILABLE result, spares the GET of a manifest
   * whose digest has not moved (Docker Hub counts GETs of manifests against its pull limits, not HEADs).
   */
  async checkReference(reference: string, credentials: Credentials | null, previous?: ReferenceCheck | null): Promise<ReferenceCheck> {
    const checkedAt = new Date().toISOString();
    const ref = parseImageReference(reference, this.settings.defaultHost);
    const result = (state: AvailabilityState, message: string, found?: Partial<ReferenceCheck>): ReferenceCheck => ({
      reference,
      state,
      digest: null,
      mediaType: null,
      platforms: [],
      compressedSize: null,
      message,
      checkedAt,
      ...found,
    });
    const target = ref.digest ?? (ref.tag as string);
    const deadline = AbortSignal.timeout(this.settings.timeoutMs * CHECK_DEADLINE_FACTOR);
    const session = new RegistrySession(this.http, this.tokens, this.http.origin(ref.apiHost), `repository:${ref.repository}:pull`, credentials, deadline);
    const manifests = `/v2/${ref.repository}/manifests/`;
    try {
      const head = await session.request('HEAD', manifests + target, MANIFEST_ACCEPT);
      if (head.status === 404) throw new NotFoundError(await this.notFoundMessage(session, ref.repository, ref.digest ? `digest ${ref.digest}` : `tag "${ref.tag}"`));
      refuseUnlessOk(head.status, credentials, ref.repository);
      const headerDigest = head.headers['docker-content-digest'] ?? ref.digest;
      if (previous?.state === 'AVAILABLE' && previous.reference === reference && headerDigest && previous.digest === headerDigest) {
        return result('AVAILABLE', 'The registry has it', { digest: previous.digest, mediaType: previous.mediaType, platforms: previous.platforms, compressedSize: previous.compressedSize });
      }
      const get = await session.request('GET', manifests + (headerDigest ?? target), MANIFEST_ACCEPT);
      if (get.status === 404) throw new NotFoundError(`The registry no longer has ${ref.digest ? `digest ${ref.digest}` : `tag "${ref.tag}"`} of "${ref.repository}"`);
      refuseUnlessOk(get.status, credentials, ref.repository);
      const digest = sha256Digest(get.body);
      for (const expected of [headerDigest, ref.digest]) {
        if (expected && expected.startsWith('sha256:') && expected !== digest) throw new NotAManifestError('the manifest does not match its digest');
      }
      const manifest = parseManifest(get.body, get.headers['content-type']);
      if (manifest.kind === 'manifest') {
        return result('AVAILABLE', 'The registry has it', { digest: headerDigest ?? digest, mediaType: manifest.mediaType, compressedSize: manifest.compressedSize });
      }
      // One at a time: each answer may be megabytes, and the check's deadline bounds the whole walk.
      const platforms: PlatformCheck[] = [];
      for (const [index, platform] of manifest.platforms.entries()) {
        platforms.push({ ...platform, compressedSize: index < MAX_PLATFORM_LOOKUPS ? await this.platformSize(session, manifests + platform.digest) : null });
      }
      return result('AVAILABLE', `The registry has it: an index of ${platforms.length} platform(s)`, { digest: headerDigest ?? digest, mediaType: manifest.mediaType, platforms });
    } catch (error) {
      if (error instanceof NotFoundError) return result('NOT_FOUND', error.message);
      if (error instanceof AuthRefusedError) return result('UNAUTHORIZED', `${ref.registry}: ${error.message}`);
      if (error instanceof UnreachableError) return result('UNREACHABLE', `${ref.registry}: ${error.message}`);
      if (error instanceof NotAManifestError) return result('UNREACHABLE', `${ref.registry} answered something that is not an image manifest: ${error.message}`);
      // Whatever else a registry's answer provokes still ends as a result: a check that throws
      // would leave the image UNCHECKED and come first in every recheck round.
      return result('UNREACHABLE', `${ref.registry}: the check failed (${error instanceof Error ? error.name : typeof error})`);
    }
  }

  /**
   * Logs in as `docker login` does, pulling nothing: `GET /v2/`, then the challenge it answers
   * with, Basic on the registry itself or a token request (no scope) to its token service.
   */
  async checkLogin(registryHost: string, credentials: Credentials): Promise<LoginCheck> {
    const checkedAt = new Date().toISOString();
    const result = (state: LoginState, message: string): LoginCheck => ({ registryHost, state, message, checkedAt });
    const host = registryApiHost(registryHost);
    const url = `${this.http.origin(host)}/v2/`;
    const deadline = AbortSignal.timeout(this.settings.timeoutMs * CHECK_DEADLINE_FACTOR);
    try {
      const anonymous = await this.http.send({ url, method: 'GET', headers: { 'user-agent': 'image-catalog' }, deadline });
      if (anonymous.status === 200) return result('NOT_REQUIRED', 'The registry lets anyone in at /v2/, so it cannot tell whether the credentials are right');
      if (anonymous.status !== 401) return result('UNREACHABLE', `${registryHost}: /v2/ answered HTTP ${anonymous.status}; is this a container registry?`);
      const challenges = parseChallenges(anonymous.headers['www-authenticate']);
      if (challenges.some((c) => c.scheme === 'bearer' && c.params.realm)) {
        const session = new RegistrySession(this.http, this.tokens, this.http.origin(host), null, credentials, deadline);
        const answer = await session.request('GET', '/v2/', 'application/json');
        return answer.status === 200 ? result('ACCEPTED', 'The registry accepted the credentials') : result('REJECTED', `The registry refused the token it issued (HTTP ${answer.status})`);
      }
      if (!challenges.some((c) => c.scheme === 'basic')) return result('UNREACHABLE', `${registryHost}: the registry asks for an authentication scheme this service does not speak`);
      const basic = await this.http.send({ url, method: 'GET', headers: { 'user-agent': 'image-catalog', authorization: basicAuthorization(credentials) }, deadline });
      if (basic.status === 200) return result('ACCEPTED', 'The registry accepted the credentials');
      if (basic.status === 401 || basic.status === 403) return result('REJECTED', 'The registry refused the credentials');
      return result('UNREACHABLE', `${registryHost}: /v2/ answered HTTP ${basic.status}`);
    } catch (error) {
      if (error instanceof AuthRefusedError) return result('REJECTED', `${registryHost}: ${error.message}`);
      if (error instanceof UnreachableError) return result('UNREACHABLE', `${registryHost}: ${error.message}`);
      return result('UNREACHABLE', `${registryHost}: the check failed (${error instanceof Error ? error.name : typeof error})`);
    }
  }

  /** With `abort`, requests in flight fail at once (as UNREACHABLE) instead of being waited for. */
  close(options: { abort?: boolean } = {}): Promise<void> {
    return this.http.close(options);
  }

  /**
   * HEAD has no body, and the manifests endpoint answers MANIFEST_UNKNOWN for an unknown
   * repository too: only the tag list says NAME_UNKNOWN.
   */
  private async notFoundMessage(session: RegistrySession, repository: string, what: string): Promise<string> {
    const tags = await session.request('GET', `/v2/${repository}/tags/list?n=1`, 'application/json').catch(() => null);
    if (tags?.status === 404 && errorCodeOf(tags.body) === 'NAME_UNKNOWN') return `The registry has no repository "${repository}"`;
    return `The registry has no ${what} in repository "${repository}"`;
  }

  private async platformSize(session: RegistrySession, path: string): Promise<number | null> {
    try {
      const answer = await session.request('GET', path, MANIFEST_ACCEPT);
      if (answer.status !== 200) return null;
      const manifest = parseManifest(answer.body, answer.headers['content-type']);
      return manifest.kind === 'manifest' ? manifest.compressedSize : null;
    } catch (error) {
      if (error instanceof UnreachableError || error instanceof NotAManifestError || error instanceof AuthRefusedError) return null;
      throw error;
    }
  }
}

function refuseUnlessOk(status: number, credentials: Credentials | null, repository: string): void {
  if (status === 200) return;
  if (status === 401 || status === 403) {
    throw new AuthRefusedError(
      credentials
        ? `the registry refused the pull secret's credentials for repository "${repository}"`
        : `the registry requires credentials for repository "${repository}" (or it does not exist): give the image a pull secret for this registry`,
    );
  }
  if (status === 429) throw new UnreachableError('too many requests: the registry is rate-limiting this service (HTTP 429)');
  throw new UnreachableError(`the registry answered HTTP ${status}`);
}

function errorCodeOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown }[] };
    const code = parsed.errors?.[0]?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
