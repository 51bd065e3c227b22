import { defaultFieldResolver, GraphQLFieldResolver, GraphQLObjectType, GraphQLSchema } from 'graphql';
import { forbidden } from '../errors';
import type { Caller } from './caller';
import { nameKey } from '../db/loader-helpers';

/**
 * Who may see and change what: the one place the rules live. Resolvers meet them through the
 * field rules below (applied to the schema once); loaders and list queries through the SQL scopes,
 * so a hidden record is never loaded, whichever relation or filter reaches for it.
 *
 * - Admins: everything.
 * - Group admins (AUTH_GROUP_ADMIN_CLAIM): members of their groups, who also create, change, delete
 *   and check their groups' own images (and see them when disabled), and see the pull secrets
 *   shared with their groups.
 * - Members (any other verified caller): read-only; enabled images that are global or linked to
 *   one of their groups; only their own groups; of a pull secret only id, name and displayName.
 */

/** Fields only admins may resolve; '*' is every field of the type but those of IMAGE_MANAGERS_ONLY. */
const ADMIN_ONLY: Record<string, readonly string[] | '*'> = {
  Mutation: '*',
  Query: ['imagePullSecret', 'imagePullSecrets', 'auditEvents'],
  Image: ['createdBy', 'updatedBy'],
  Group: ['createdBy', 'updatedBy'],
  ImagePullSecret: ['registryHost', 'username', 'images', 'groups', 'createdAt', 'updatedAt', 'createdBy', 'updatedBy'],
};

/** Fields for admins and group admins; the services decide which images a group admin may touch. */
const IMAGE_MANAGERS_ONLY: Record<string, readonly string[]> = {
  Mutation: ['createImage', 'updateImage', 'deleteImage', 'checkImage'],
};

/** Fields only callers with the secret-reader role may resolve (being an admin is not enough). */
const SECRET_READER_ONLY: Record<string, readonly string[]> = {
  Query: ['dockerConfigJson'],
};

export interface SqlCondition {
  sql: string;
  params: Record<string, unknown>;
}

export class AccessPolicy {
  constructor(readonly caller: Caller) {}

  get actor(): string {
    return this.caller.sub;
  }

  get isAdmin(): boolean {
    return this.caller.isAdmin;
  }

  requireAdmin(what: string): void {
    if (!this.caller.isAdmin) throw forbidden(`${what} is for admins only`);
  }

  /** Whether the caller administers some group (and so may manage that group's own images). */
  get isGroupAdmin(): boolean {
    return this.caller.adminGroupNames.length > 0;
  }

  requireImageManager(what: string): void {
    if (!this.caller.isAdmin && !this.isGroupAdmin) throw forbidden(`${what} is for admins and group admins only`);
  }

  /** Whether the caller manages the group's own images: admins always, group admins for theirs. */
  administers(group: { name: string }): boolean {
    return this.caller.isAdmin || this.caller.adminGroupNames.some((name) => nameKey(name) === nameKey(group.name));
  }

  /** `column` holds the id of a group the caller administers; undefined for admins (every group). */
  administeredGroupId(column: string): SqlCondition | undefined {
    if (this.caller.isAdmin) return undefined;
    if (this.caller.adminGroupNames.length === 0) return { sql: '1 = 0', params: {} };
    return {
      sql: `${column} IN (SELECT admin_group.id FROM user_groups admin_group WHERE admin_group.name IN (:...scopeAdminGroupNames))`,
      params: { scopeAdminGroupNames: this.caller.adminGroupNames },
    };
  }

  requireSecretReader(what: string): void {
    if (!this.caller.canReadSecrets) throw forbidden(`${what} needs the secret-reader role`);
  }

  /** Whether the caller may act for the group (launch from it): admins always, members for their own. */
  isMemberOf(group: { name: string }): boolean {
    return this.caller.isAdmin || this.caller.groupNames.some((name) => nameKey(name) === nameKey(group.name));
  }

  /** `column` holds the id of a group the caller may see; undefined when every group is visible. */
  visibleGroupId(column: string): SqlCondition | undefined {
    if (this.caller.isAdmin) return undefined;
    if (this.caller.groupNames.length === 0) return { sql: '1 = 0', params: {} };
    // Names compare with the column's case-insensitive collation, as uniqueness does.
    return {
      sql: `${column} IN (SELECT scope_group.id FROM user_groups scope_group WHERE scope_group.name IN (:...scopeGroupNames))`,
      params: { scopeGroupNames: this.caller.groupNames },
    };
  }

  /** Disabled images are for admins, and for the admins of their owner group; undefined when the caller sees them all. */
  enabledImages(alias: string): SqlCondition | undefined {
    if (this.caller.isAdmin) return undefined;
    const enabled = { sql: `${alias}.enabled = :scopeEnabled`, params: { scopeEnabled: true } };
    if (!this.isGroupAdmin) return enabled;
    const owned = this.administeredGroupId(`${alias}.ownerGroupId`) as SqlCondition;
    return { sql: `(${enabled.sql} OR ${owned.sql})`, params: { ...enabled.params, ...owned.params } };
  }

  /**
   * Images (under `alias`) the caller may see: enabled, and global or linked to one of the caller's
   * groups; for a group admin also their groups' own images, disabled ones included.
   */
  visibleImages(alias: string): SqlCondition | undefined {
    const linked = this.visibleGroupId('scope_link.groupId');
    const enabled = this.enabledImages(alias);
    if (!linked || !enabled) return undefined;
    // A group's own image is linked to its group, which its admins are members of: "linked" covers it.
    return {
      sql: `${enabled.sql} AND (${alias}.global = :scopeGlobal OR ${alias}.id IN (SELECT scope_link.imageId FROM image_group_links scope_link WHERE ${linked.sql}))`,
      params: { ...linked.params, ...enabled.params, scopeGlobal: true },
    };
  }

  visibleGroups(alias: string): SqlCondition | undefined {
    return this.visibleGroupId(`${alias}.id`);
  }

  /**
   * Pull secrets of images the caller may see, and for a group admin those shared with their
   * groups (only their names are then readable).
   */
  visiblePullSecrets(alias: string): SqlCondition | undefined {
    const images = this.visibleImages('scope_image');
    if (!images) return undefined;
    const used = `${alias}.id IN (SELECT scope_image.pullSecretId FROM images scope_image WHERE ${images.sql})`;
    if (!this.isGroupAdmin) return { sql: used, params: images.params };
    const shared = this.administeredGroupId('scope_share.groupId') as SqlCondition;
    return {
      sql: `(${used} OR ${alias}.id IN (SELECT scope_share.pullSecretId FROM image_pull_secret_groups scope_share WHERE ${shared.sql}))`,
      params: { ...images.params, ...shared.params },
    };
  }
}

interface WithAccess {
  access: AccessPolicy;
}

/** Wraps the restricted fields' resolvers with their checks; refuses rules that name no field. */
export function applyFieldRules(schema: GraphQLSchema): GraphQLSchema {
  guard(schema, ADMIN_ONLY, (access, what) => access.requireAdmin(what), IMAGE_MANAGERS_ONLY);
  guard(schema, IMAGE_MANAGERS_ONLY, (access, what) => access.requireImageManager(what));
  guard(schema, SECRET_READER_ONLY, (access, what) => access.requireSecretReader(what));
  return schema;
}

function guard(
  schema: GraphQLSchema,
  rules: Record<string, readonly string[] | '*'>,
  check: (access: AccessPolicy, what: string) => void,
  exceptions: Record<string, readonly string[]> = {},
): void {
  for (const [typeName, fieldNames] of Object.entries(rules)) {
    const type = schema.getType(typeName);
    if (!(type instanceof GraphQLObjectType)) throw new Error(`access rule names unknown type ${typeName}`);
    const fields = type.getFields();
    const all = Object.keys(fields).filter((name) => !(exceptions[typeName] ?? []).includes(name));
    for (const fieldName of fieldNames === '*' ? all : fieldNames) {
      const field = fields[fieldName];
      if (!field) throw new Error(`access rule names unknown field ${typeName}.${fieldName}`);
      const resolve: GraphQLFieldResolver<unknown, WithAccess> = field.resolve ?? defaultFieldResolver;
      const what = typeName === 'Query' || typeName === 'Mutation' ? fieldName : `${typeName}.${fieldName}`;
      field.resolve = (parent, args, context: WithAccess, info) => {
        check(context.access, what);
        return resolve(parent, args, context, info);
      };
    }
  }
}
