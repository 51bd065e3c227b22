import type { JWTPayload } from 'jose';
import { isGroupName } from '../common/rules';
import type { AuthConfig } from '../config';

/** The audit columns that record a caller hold this many characters. */
export const MAX_SUB_LENGTH = 255;

/** Who is calling, as the verified token says. */
export interface Caller {
  sub: string;
  roles: string[];
  /** Group names as the token lists them, without Keycloak's leading "/"; the groups it administers included. */
  groupNames: string[];
  /** The groups whose own images the caller manages (AUTH_GROUP_ADMIN_CLAIM). */
  adminGroupNames: string[];
  isAdmin: boolean;
  canReadSecrets: boolean;
}

/** Reads the caller from verified claims; the caller must have checked that `sub` is a usable string. */
export function callerFromClaims(claims: JWTPayload & { sub: string }, auth: AuthConfig): Caller {
  const roles = stringList(claimAt(claims, auth.rolesClaim));
  // Keycloak's group mapper sends "/name" (full path); a nested "/parent/child" keeps its inner
  // slash and so matches no group, rather than granting a same-named top-level one. Only names a
  // group can have are kept: MariaDB's collation would otherwise let "dáta-science" or
  // "data-science " match the group data-science, where SQLite would not.
  const groupsAt = (claim: string) =>
    stringList(claimAt(claims, claim))
      .map((g) => g.replace(/^\//, ''))
      .filter(isGroupName);
  const adminGroupNames = groupsAt(auth.groupAdminClaim);
  return {
    sub: claims.sub,
    roles,
    // An admin of a group is a member of it, whatever the groups claim says.
    groupNames: [...new Set([...groupsAt(auth.groupsClaim), ...adminGroupNames])],
    adminGroupNames,
    isAdmin: roles.includes(auth.adminRole),
    canReadSecrets: roles.includes(auth.secretReaderRole),
  };
}

/** A claim by name, or by dotted path (`realm_access.roles`) when no claim has the literal name. */
function claimAt(claims: JWTPayload, path: string): unknown {
  if (path in claims) return claims[path];
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value ? [value] : [];
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is string => typeof v === 'string' && v.length > 0);
}
