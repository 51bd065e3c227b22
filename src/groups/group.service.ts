import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, In } from 'typeorm';
import { orderingOf, whereSearch } from '../common/list-query';
import { displayNameOr } from '../common/input-rules';
import { SEARCHABLE, textKeys } from '../common/text-keys';
import { findByIdOrName } from '../common/lookup';
import { Connection } from '../db/connection';
import { paginate, PageArgs } from '../db/keyset-pagination';
import { scoped } from '../db/loader-helpers';
import { inTransaction } from '../db/transaction';
import { isRecordId } from '../db/record-id';
import { conflict, notFound } from '../errors';
import type { GroupFilter, GroupOrder } from '../generated/graphql';
import { groupSetsOfImagesIn, imagesOwnedBy, touchImagesOfGroup } from '../images/image-relations';
import { AuditEntry, diff, recordAudit } from '../audit/audit-trail';
import type { AccessPolicy } from '../auth/access-policy';
import type { Loaders } from '../loaders';
import { Group } from './group.entity';
import { CreateGroupInput, UpdateGroupInput } from './group.inputs';
import { forUpdate, isSqlite } from '../db/dialect';

const AUDITED = ['name', 'displayName', 'description'] as const;

/** A group's folded keys (common/text-keys.ts): its name's for ordering by name, its text's for the rest. */
export function groupKeys(group: Pick<Group, 'name' | 'displayName' | 'description'>): Pick<Group, 'nameKey' | 'displayNameKey' | 'searchText'> {
  return { nameKey: group.name.toLowerCase(), ...textKeys(group, SEARCHABLE.user_groups) };
}

export class GroupService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly loaders: Loaders,
    private readonly access: AccessPolicy,
  ) {}

  find(args: { id?: string | null; name?: string | null }): Promise<Group | null> {
    return findByIdOrName(args, { byId: this.loaders.groupById, byName: this.loaders.groupByName });
  }

  async list(filter: GroupFilter | null | undefined, orderBy: GroupOrder | null | undefined, page: PageArgs): Promise<Connection<Group>> {
    const qb = scoped(this.dataSource.getRepository(Group).createQueryBuilder('grp'), this.access.visibleGroups('grp'));
    whereSearch(qb, filter?.search);
    const connection = await paginate(qb, orderingOf(orderBy, 'nameKey'), page);
    for (const group of connection.nodes) this.loaders.groupById.prime(group.id, group);
    return connection;
  }

  async create(input: CreateGroupInput): Promise<Group> {
    const now = new Date();
    const group = Object.assign(new Group(), {
      id: randomUUID(),
      name: input.name,
      displayName: displayNameOr(input.displayName, input.name),
      description: input.description ?? null,
      createdAt: now,
      updatedAt: now,
      createdBy: this.access.actor,
      updatedBy: this.access.actor,
    });
    Object.assign(group, groupKeys(group));
    await inTransaction(this.dataSource, async (m) => {
      await m.insert(Group, group);
      await recordAudit(m, this.access.actor, [{ operation: 'CREATE', entityType: 'GROUP', entity: group, changes: diff(AUDITED, null, group) }], now);
    });
    this.loaders.groupById.prime(group.id, group);
    return group;
  }

  async update(id: string, input: UpdateGroupInput): Promise<Group> {
    const group = await inTransaction(this.dataSource, async (m) => {
      const current = isRecordId(id) ? await m.findOneBy(Group, { id }) : null;
      if (!current) throw notFound('group', 'id', [id]);
      const next = { ...current };
      if (input.displayName !== undefined) next.displayName = displayNameOr(input.displayName, current.name);
      if (input.description !== undefined) next.description = input.description;
      const changes = diff(AUDITED, current, next);
      if (changes.length === 0) return current;
      next.updatedAt = new Date();
      next.updatedBy = this.access.actor;
      Object.assign(next, groupKeys(next));
      const { displayNameKey, searchText } = next;
      await m.update(Group, { id }, { displayName: next.displayName, description: next.description, displayNameKey, searchText, updatedAt: next.updatedAt, updatedBy: next.updatedBy });
      await recordAudit(m, this.access.actor, [{ operation: 'UPDATE', entityType: 'GROUP', entity: current, changes }], next.updatedAt);
      return Object.assign(new Group(), next);
    });
    this.loaders.groupById.clear(id).prime(id, group);
    return group;
  }

  /** Removes the group and its image links, never the images; the images' versions go up. */
  async delete(id: string): Promise<string> {
    await inTransaction(this.dataSource, async (m) => {
      // The row lock (MySQL; SQLite runs one transaction at a time) keeps new links to the group out
      // until we commit, since their foreign-key check waits for it, and makes a second deletion of
      // the same group wait and then find it gone.
      const locking = !isSqlite(m.connection);
      const current = isRecordId(id) ? await m.findOne(Group, { where: { id }, ...forUpdate(m.connection) }) : null;
      if (!current) throw notFound('group', 'id', [id]);
      const owned = await imagesOwnedBy(m, id);
      if (owned.length > 0) {
        throw conflict(`Group "${current.name}" owns ${owned.length} image(s): ${owned.map((i) => i.name).join(', ')}; delete them first`, {
          field: 'id',
          images: owned.map((i) => ({ id: i.id, name: i.name })),
        });
      }
      const now = new Date();
      // Touching the images locks them, so the group sets read next are the ones the deletion changes.
      await touchImagesOfGroup(m, id, now, this.access.actor);
      const linkedImages = await groupSetsOfImagesIn(m, id, locking);
      await m.delete(Group, { id });
      await recordAudit(
        m,
        this.access.actor,
        [
          ...linkedImages.map((image): AuditEntry => ({
            operation: 'SET_GROUPS',
            entityType: 'IMAGE',
            entity: image,
            changes: [{ field: 'groupIds', oldValue: image.groupIds, newValue: image.groupIds.filter((g) => g !== id) }],
          })),
          { operation: 'DELETE', entityType: 'GROUP', entity: current, changes: diff(AUDITED, current, null) },
        ],
        now,
      );
    });
    this.loaders.groupById.clear(id);
    this.loaders.imagesByGroupId.clear(id);
    this.loaders.groupsByImageId.clearAll();
    this.loaders.groupSummariesByImageId.clearAll();
    this.loaders.imageById.clearAll();
    return id;
  }
}

/** For other domains: fails with NOT_FOUND naming every id that is not a group. */
export async function assertGroupsExist(manager: EntityManager, ids: string[], field: string): Promise<void> {
  if (ids.length === 0) return;
  const candidates = ids.filter(isRecordId);
  const found = candidates.length > 0 ? await manager.find(Group, { select: { id: true }, where: { id: In(candidates) } }) : [];
  const known = new Set(found.map((g) => g.id));
  const missing = ids.filter((id) => !known.has(id));
  if (missing.length > 0) throw notFound('group', field, missing);
}
