import { SignJWT } from 'jose';
import type { AuthConfig } from '../config';

export interface TokenClaims {
  sub: string;
  admin?: boolean;
  secretReader?: boolean;
  groups?: string[];
  /** Lifetime such as "12h" or "30d"; jose's time span syntax. */
  expiresIn?: string;
}

/** Mints an HS256 token whose claims follow the configured claim names (dev mode, `npm run token`, tests). */
export async function mintToken(secret: Uint8Array, auth: AuthConfig, claims: TokenClaims): Promise<string> {
  const roles = [...(claims.admin ? [auth.adminRole] : []), ...(claims.secretReader ? [auth.secretReaderRole] : [])];
  const payload = { ...nested(auth.rolesClaim, roles), ...nested(auth.groupsClaim, claims.groups ?? []) };
  let jwt = new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(claims.sub).setIssuedAt();
  if (auth.issuer) jwt = jwt.setIssuer(auth.issuer);
  if (auth.audience) jwt = jwt.setAudience(auth.audience);
  return jwt.setExpirationTime(claims.expiresIn ?? '12h').sign(secret);
}

/** `realm_access.roles` becomes `{ realm_access: { roles } }`, as Keycloak sends it. */
function nested(path: string, value: unknown): Record<string, unknown> {
  return path
    .split('.')
    .reverse()
    .reduce<Record<string, unknown>>((inner, key, index) => ({ [key]: index === 0 ? value : inner }), {});
}
