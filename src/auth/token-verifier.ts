import { createRemoteJWKSet, errors as joseErrors, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '../config';
import { unauthenticated } from '../errors';
import type { Logger } from '../observability/logger';
import { Caller, callerFromClaims, MAX_SUB_LENGTH } from './caller';

export type VerifyAuthorization = (authorization: string | undefined) => Promise<Caller>;

const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * Turns an `Authorization: Bearer <JWT>` header into a Caller or an UNAUTHENTICATED error.
 * `signingSecret` is the HS256 secret (AUTH_JWT_SECRET or dev mode's); otherwise the JWKS URL is used.
 */
export function createTokenVerifier(auth: AuthConfig, signingSecret?: Uint8Array, logger?: Logger): VerifyAuthorization {
  const key: Uint8Array | JWTVerifyGetKey = signingSecret ?? jwksFor(auth);
  const options = {
    algorithms: signingSecret ? ['HS256'] : ASYMMETRIC_ALGORITHMS,
    issuer: auth.issuer,
    audience: auth.audience,
    clockTolerance: auth.clockToleranceSeconds,
    // jose checks exp only when present: a token without one would never expire.
    requiredClaims: ['exp'],
  };
  const verified = new VerifiedTokens();
  return async (authorization) => {
    const token = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) throw unauthenticated(authorization ? 'the Authorization header must be "Bearer <token>"' : 'no bearer token');
    const known = verified.get(token);
    if (known) return known;
    let claims: JWTPayload;
    try {
      // jwtVerify's overloads split on the key's type; both branches take the same options.
      ({ payload: claims } = await jwtVerify(token, key as Uint8Array, options));
    } catch (error) {
      if (!signingSecret && isKeySetUnavailable(error)) {
        // The caller's token may be fine: the identity provider is what failed, so say so to the
        // operator (the URL is configuration, not a secret; the token is never logged).
        logger?.error({ jwksUrl: auth.jwksUrl, reason: errorKind(error) }, 'cannot fetch the signing keys from AUTH_JWKS_URL');
        throw unauthenticated('the signing keys cannot be fetched');
      }
      throw unauthenticated(reasonFor(error));
    }
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw unauthenticated('the token has no subject (sub)');
    if (claims.sub.length > MAX_SUB_LENGTH) throw unauthenticated(`the token's subject (sub) is longer than ${MAX_SUB_LENGTH} characters`);
    const caller = callerFromClaims({ ...claims, sub: claims.sub }, auth);
    verified.set(token, caller, claims.exp as number);
    return caller;
  };
}

const VERIFIED_TOKENS = 1_000;
const VERIFIED_FOR_MS = 60_000;
const LONGEST_CACHED_TOKEN = 8_192;

/**
 * Tokens that verified lately, with their caller: a client sends the same token with every request,
 * and checking its signature each time was a measurable share of a small request. An entry lasts
 * until the token expires, and at most a minute (so a key withdrawn from the JWKS stops working
 * within a minute). Bounded; the oldest entries go first.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, { caller: Caller; until: number }>();

  get(token: string): Caller | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.until > Date.now()) return entry.caller;
    this.entries.delete(token);
    return undefined;
  }

  set(token: string, caller: Caller, exp: number): void {
    if (token.length > LONGEST_CACHED_TOKEN) return;
    const until = Math.min(exp * 1000, Date.now() + VERIFIED_FOR_MS);
    if (this.entries.size >= VERIFIED_TOKENS) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, { caller, until });
  }
}

/**
 * jose's own key-set errors, or the request underneath failing (refused, reset, DNS): jose reports
 * everything about the token itself as a JOSEError.
 */
function isKeySetUnavailable(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return true;
  // jose's plain JOSEError (no subclass) is what its key-set fetch throws for a non-200 answer or
  // a body that is not JSON: an ingress's 502/503, a login page.
  if (error instanceof joseErrors.JOSEError) return error.code === 'ERR_JOSE_GENERIC';
  return true;
}

function errorKind(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : typeof error;
}

function jwksFor(auth: AuthConfig): JWTVerifyGetKey {
  if (!auth.jwksUrl) throw new Error('createTokenVerifier needs a signing secret or AUTH_JWKS_URL');
  // jose caches the key set and refetches it (rate-limited) when a token names an unknown key id.
  return createRemoteJWKSet(new URL(auth.jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
}

/** A short, fixed reason: never the library's message, which can describe key material. */
function reasonFor(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'the token is not valid yet';
    if (error.claim === 'exp' && error.reason === 'missing') return 'the token has no expiry (exp)';
    return `the token's "${error.claim}" claim is not accepted`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm this service does not accept';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'the token is signed with an unknown key';
  return 'the token is malformed';
}
