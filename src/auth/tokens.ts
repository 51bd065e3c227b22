import { SignJWT } from 'jose';
import type { AuthConfig } from '../config';

export interface TokenClaims {
  sub: string;
  admin?: boolean;
  secretReader?: boolean;
  groups?: string[];
  /** Groups the bearer administers (the AUTH_GROUP_ADMIN_CLAIM claim). */
  groupAdmin?: string[];
  /** Lifetime such as "12h" or "30d"; jose's time span syntax. */
  expiresIn?: string;
}

/** Mints an HS256 token whose claims follow the configured claim names (dev mode, `npm run token`, tests). */
export async function mintToken(secret: Uint8Array, auth: AuthConfig, claims: TokenClaims): Promise<string> {
  const roles = [...(claims.admin ? [auth.adminRole] : []), ...(claims.secretReader ? [auth.secretReaderRole] : [])];
  const payload = merge(
    nested(auth.rolesClaim, roles),
    nested(auth.groupsClaim, claims.groups ?? []),
    claims.groupAdmin?.length ? nested(auth.groupAdminClaim, claims.groupAdmin) : {},
  );
  let jwt = new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(claims.sub).setIssuedAt();
  if (auth.issuer) jwt = jwt.setIssuer(auth.issuer);
  if (auth.audience) jwt = jwt.setAudience(auth.audience);
  return jwt.setExpirationTime(claims.expiresIn ?? '12h').sign(secret);
}

/** Claims side by side, also when two paths share a parent (`realm_access.roles`, `realm_access.groups`). */
function merge(...parts: Record<string, unknown>[]): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      const existing = merged[key];
      merged[key] = isPlainObject(existing) && isPlainObject(value) ? merge(existing, value) : value;
    }
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `realm_access.roles` becomes `{ realm_access: { roles } }`, as Keycloak sends it. */
function nested(path: string, value: unknown): Record<string, unknown> {
  return path
    .split('.')
    .reverse()
    .reduce<Record<string, unknown>>((inner, key, index) => ({ [key]: index === 0 ? value : inner }), {});
}
