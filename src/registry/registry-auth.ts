import { createHash } from 'node:crypto';
import { HttpAnswer, RegistryHttp, UnreachableError } from './registry-http';
import { parseChallenges } from './www-authenticate';

export interface Credentials {
  username: string;
  password: string;
}

/** The registry or its token service said no: wrong or missing credentials, or no access to the repository. */
export class AuthRefusedError extends Error {}

const TOKEN_CACHE_LIMIT = 1_000;
const DEFAULT_TOKEN_SECONDS = 60;
/** A token used this close to its expiry could run out mid-request. */
const TOKEN_MARGIN_MS = 10_000;

/**
 * Bearer tokens by realm, service, scope and credentials (a hash of them: the cache never holds a
 * password as a key), until shortly before they expire. Rechecks of many images of one repository
 * then cost one token request, as Docker Hub's rate limits want.
 */
export class TokenCache {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();

  get(key: string): string | undefined {
    const hit = this.tokens.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.token;
    this.tokens.delete(key);
    return undefined;
  }

  set(key: string, token: string, seconds: number): void {
    if (this.tokens.size >= TOKEN_CACHE_LIMIT) this.tokens.delete(this.tokens.keys().next().value as string);
    // A short-lived token keeps half its life: the margin alone would expire it before its first use.
    const margin = Math.min(TOKEN_MARGIN_MS, (seconds * 1000) / 2);
    this.tokens.set(key, { token, expiresAt: Date.now() + seconds * 1000 - margin });
  }
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

function credentialsKey(credentials: Credentials | null): string {
  if (!credentials) return 'anonymous';
  return createHash('sha256').update(`${credentials.username}\0${credentials.password}`).digest('base64url');
}

/**
 * Requests to one registry for one scope (`repository:<name>:pull`, or none for a login check),
 * answering its challenges as Docker does: anonymous first, then Basic with the credentials, or the
 * Bearer token flow (`realm?service=..&scope=..`, Basic credentials to the token service).
 */
export class RegistrySession {
  private authorization: string | undefined;

  constructor(
    private readonly http: RegistryHttp,
    private readonly tokens: TokenCache,
    private readonly origin: string,
    private readonly scope: string | null,
    private readonly credentials: Credentials | null,
    private readonly deadline?: AbortSignal,
  ) {
    const cached = this.tokens.get(this.cacheKeyFor(origin));
    if (cached) this.authorization = `Bearer ${cached}`;
  }

  /** The answer after at most one round of authentication; a 401 that remains is the caller's to judge. */
  async request(method: 'GET' | 'HEAD', path: string, accept: string): Promise<HttpAnswer> {
    const send = () => this.http.send({ url: `${this.origin}${path}`, method, headers: this.headers(accept), deadline: this.deadline });
    const answer = await send();
    // Only the registry's own challenge is answered: a host it redirected to must not get to name
    // a token service that the credentials would then be sent to.
    if (answer.status !== 401 || new URL(answer.url).origin !== this.origin) return answer;
    const challenged = await this.answerChallenge(answer.headers['www-authenticate']);
    return challenged ? send() : answer;
  }

  /** Whether the credentials were sent (or a token fetched) in answer to the challenge. */
  private async answerChallenge(header: string | undefined): Promise<boolean> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      const token = await this.fetchToken(bearer.params.realm, bearer.params.service ?? null);
      this.authorization = `Bearer ${token}`;
      return true;
    }
    if (challenges.some((c) => c.scheme === 'basic') && this.credentials && !this.authorization?.startsWith('Basic')) {
      this.authorization = basicAuthorization(this.credentials);
      return true;
    }
    return false;
  }

  private async fetchToken(realm: string, service: string | null): Promise<string> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new UnreachableError('the registry named a token service that is not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UnreachableError('the registry named a token service that is not http(s)');
    if (service) url.searchParams.set('service', service);
    if (this.scope) url.searchParams.set('scope', this.scope);
    else if (this.credentials) url.searchParams.set('account', this.credentials.username);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.credentials) {
      // Credentials travel to the token service only over TLS (or to a host declared plain).
      if (!this.http.maySendCredentials(url)) throw new AuthRefusedError(`the token service ${url.origin} is not HTTPS; the credentials were not sent (list it in REGISTRY_PLAIN_HTTP_HOSTS to allow it)`);
      headers.authorization = basicAuthorization(this.credentials);
    }
    const answer = await this.http.send({ url: url.toString(), method: 'GET', headers, deadline: this.deadline });
    if (answer.status === 401 || answer.status === 403) {
      throw new AuthRefusedError(this.credentials ? 'the token service refused the credentials' : 'the token service requires credentials');
    }
    if (answer.status !== 200) throw new UnreachableError(`the token service answered HTTP ${answer.status}`);
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(answer.body.toString('utf8')) as typeof body;
    } catch {
      throw new UnreachableError('the token service answered something that is not JSON');
    }
    const token = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (!token) throw new UnreachableError('the token service answered without a token');
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    this.tokens.set(this.cacheKeyFor(this.origin), token, seconds);
    return token;
  }

  /**
   * The last token for this registry, scope and credentials: later sessions skip the challenge
   * round. A challenge is always answered with a fresh token, so a token the registry stopped
   * accepting is not tried twice.
   */
  private cacheKeyFor(origin: string): string {
    return `${origin}|${this.scope ?? ''}|${credentialsKey(this.credentials)}`;
  }

  private headers(accept: string): Record<string, string> {
    const headers: Record<string, string> = { accept, 'user-agent': 'image-catalog' };
    if (this.authorization) headers.authorization = this.authorization;
    return headers;
  }

}
