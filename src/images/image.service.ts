import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, In, SelectQueryBuilder } from 'typeorm';
import { AuditChange, AuditOperation } from '../audit/audit-event.entity';
import { diff, recordAudit } from '../audit/audit-trail';
import { orderingOf, whereSearch } from '../common/list-query';
import { findByIdOrName } from '../common/lookup';
import { Connection } from '../db/connection';
import { ConcurrentChangeError } from '../db/database-errors';
import { entityRows, joinedEntity } from '../db/entity-rows';
import { ImagePullSecret } from '../pull-secrets/image-pull-secret.entity';
import { paginate, PageArgs } from '../db/keyset-pagination';
import { scoped } from '../db/loader-helpers';
import { inTransaction } from '../db/transaction';
import { attachSecret, imageColumnsFor, thinSecretSelection } from './image-projection';
import { badUserInput, conflict, forbidden, notFound, registryChecksOff } from '../errors';
import type { ImageFilter, ImageOrder } from '../generated/graphql';
import { assertGroupsExist } from '../groups/group.service';
import type { AccessPolicy } from '../auth/access-policy';
import type { Loaders } from '../loaders';
import { assertPullSecretExists } from '../pull-secrets/image-pull-secret.service';
import { ImageGroupLink } from './image-group-link.entity';
import { isRecordId } from '../db/record-id';
import { Image } from './image.entity';
import { CreateImageInput, UpdateImageInput } from './image.inputs';
import { applyImagePatch, changedFields, typesRunnableOn } from './image.rules';
import { forUpdate } from '../db/dialect';
import { MAX_URL } from '../common/input-rules';
import { SEARCHABLE, textKeys } from '../common/text-keys';
import { parseImageReference, pinnedReference, withoutDigest } from '../registry/image-reference';
import type { AvailabilityChecker } from './availability-checker';
import { forgetAvailability } from './image-availability.store';
import { assertLinks, assertManages, assertOwnedImageRules, ownerForCreate } from './image-ownership';
import { Group } from '../groups/group.entity';

const IMAGE_ALIAS = 'image';
const AUDITED = ['name', 'displayName', 'description', 'type', 'url', 'urlForGpu', 'pullSecretId', 'global', 'enabled', 'ownerGroupId'] as const;
/** A change to any of these makes the last registry check meaningless. */
const CHECKED_FIELDS: (keyof Image)[] = ['url', 'urlForGpu', 'pullSecretId', 'type'];
const LINKED_TO_GROUP = `${IMAGE_ALIAS}.id IN (SELECT link.imageId FROM image_group_links link WHERE link.groupId = :groupId)`;

/** The fields a launcher request selects, of each image and of its pull secret. */
export interface LaunchSelection {
  image?: Set<string>;
  pullSecret?: Set<string>;
}

export class ImageService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly loaders: Loaders,
    private readonly access: AccessPolicy,
    private readonly checker: AvailabilityChecker,
  ) {}

  find(args: { id?: string | null; name?: string | null }): Promise<Image | null> {
    return findByIdOrName(args, { byId: this.loaders.imageById, byName: this.loaders.imageByName });
  }

  /** `withCount`: the caller selected totalCount, so it is counted beside the page. */
  /** `nodeFields`: the fields asked of each image, when the caller knows them (only their columns are read). */
  async list(filter: ImageFilter | null | undefined, orderBy: ImageOrder | null | undefined, page: PageArgs, withCount = false, nodeFields?: Set<string>): Promise<Connection<Image>> {
    const qb = scoped(this.dataSource.getRepository(Image).createQueryBuilder(IMAGE_ALIAS), this.access.visibleImages(IMAGE_ALIAS));
    whereSearch(qb, filter?.search);
    if (filter?.types != null) {
      if (filter.types.length === 0) qb.andWhere('1 = 0');
      // Deduplicated: a list of 40,000 "CPU"s would exceed SQLite's limit on bound parameters.
      else qb.andWhere(`${IMAGE_ALIAS}.type IN (:...types)`, { types: [...new Set(filter.types)] });
    }
    if (filter?.global != null) qb.andWhere(`${IMAGE_ALIAS}.global = :global`, { global: filter.global });
    if (filter?.enabled != null) qb.andWhere(`${IMAGE_ALIAS}.enabled = :enabledFilter`, { enabledFilter: filter.enabled });
    if ([filter?.groupId, filter?.pullSecretId].some((id) => id != null && !isRecordId(id))) {
      qb.andWhere('1 = 0');
    } else {
      if (filter?.groupId != null) {
        qb.andWhere(LINKED_TO_GROUP, { groupId: filter.groupId });
        // Which visible images a member's foreign group links to is the group's business, not theirs.
        scoped(qb, this.access.visibleGroupId(':groupId'));
      }
      if (filter?.pullSecretId != null) qb.andWhere(`${IMAGE_ALIAS}.pullSecretId = :pullSecretId`, { pullSecretId: filter.pullSecretId });
    }
    if (filter?.availability != null) whereAvailabilityIn(qb, [...new Set(filter.availability)]);
    if (filter?.scope === 'PLATFORM') qb.andWhere(`${IMAGE_ALIAS}.ownerGroupId IS NULL`);
    if (filter?.scope === 'GROUP') qb.andWhere(`${IMAGE_ALIAS}.ownerGroupId IS NOT NULL`);
    if (filter?.ownerGroupId != null) {
      if (!isRecordId(filter.ownerGroupId)) qb.andWhere('1 = 0');
      else {
        qb.andWhere(`${IMAGE_ALIAS}.ownerGroupId = :ownerGroupId`, { ownerGroupId: filter.ownerGroupId });
        // As for groupId: which images a group the member cannot see owns is not theirs to ask.
        scoped(qb, this.access.visibleGroupId(':ownerGroupId'));
      }
    }
    const columns = imageColumnsFor(nodeFields);
    const connection = await paginate(qb, orderingOf(orderBy), page, withCount, columns);
    // Partial records stay out of the loaders, where another field of the request could find them.
    if (!columns) this.prime(connection.nodes);
    return connection;
  }

  /**
   * The images a group may use (global or linked) that can run on the instance, in display order.
   * `selection`: the fields asked of each image and of its pull secret, when the caller knows them.
   */
  async launchable(groupId: string, gpu: boolean, options: { onlyAvailable: boolean; includeDisabled: boolean; selection?: LaunchSelection }): Promise<Image[]> {
    if (options.includeDisabled && !this.access.isAdmin) throw forbidden('includeDisabled is for admins only', 'includeDisabled');
    const refuse = () => {
      // A member learns nothing about groups that are not theirs, not even whether they exist.
      if (!this.access.isAdmin) throw forbidden('launchableImages is only for groups you belong to', 'groupId');
      throw notFound('group', 'groupId', [groupId]);
    };
    // An id that names no record never reaches SQL (MariaDB's ascii_bin id columns refuse some).
    if (!isRecordId(groupId)) return refuse();
    // Every image a member's own group may use is visible to that member: no further scope needed.
    const qb = this.dataSource
      .getRepository(Image)
      .createQueryBuilder(IMAGE_ALIAS)
      .where(`(${IMAGE_ALIAS}.global = :global OR ${LINKED_TO_GROUP})`, { global: true, groupId })
      .andWhere(`${IMAGE_ALIAS}.type IN (:...types)`, { types: typesRunnableOn(gpu) });
    if (!options.includeDisabled) qb.andWhere(`${IMAGE_ALIAS}.enabled = :enabled`, { enabled: true });
    if (options.onlyAvailable) {
      // The state of the reference this instance would pull: the GPU url's only where there is one.
      const state = gpu ? 'COALESCE(availability.gpuUrlState, availability.urlState)' : 'availability.urlState';
      qb.andWhere(`${IMAGE_ALIAS}.id IN (SELECT availability.imageId FROM image_availability availability WHERE ${state} = :available)`, { available: 'AVAILABLE' });
    }
    // The group check and the images are asked for together; the images of a group the caller may
    // not launch from are dropped unread.
    // Each image's pull secret comes along: every launchable image is visible to the caller, and so
    // is its secret, so the loader is primed instead of asked again.
    // Only the columns the answer reads, when the selection is known: partial entities then stay
    // out of the loaders, where another field of the request could find them.
    const columns = imageColumnsFor(options.selection?.image);
    if (columns) qb.select(columns.map((column) => `${IMAGE_ALIAS}.${column}`));
    const thinSecrets = thinSecretSelection(options.selection?.pullSecret);
    if (thinSecrets) qb.leftJoin(ImagePullSecret, 'secret', `secret.id = ${IMAGE_ALIAS}.pullSecretId`).addSelect(['secret.id', 'secret.name']);
    else qb.leftJoinAndSelect(ImagePullSecret, 'secret', `secret.id = ${IMAGE_ALIAS}.pullSecretId`);
    const [group, rows] = await Promise.all([
      this.loaders.groupById.load(groupId),
      entityRows(qb.orderBy(`${IMAGE_ALIAS}.displayNameKey`, 'ASC').addOrderBy(`${IMAGE_ALIAS}.name`, 'ASC')),
    ]);
    if (!group || !this.access.isMemberOf(group)) return refuse();
    const images = rows.map((row) => row.entity);
    for (const { entity, raw } of rows) {
      const secret = joinedEntity(qb, ImagePullSecret, 'secret', raw);
      if (thinSecrets) attachSecret(entity, secret);
      else if (secret) this.loaders.pullSecretById.prime(secret.id, secret);
    }
    if (!columns) this.prime(images);
    return images;
  }

  async create(input: CreateImageInput): Promise<Image> {
    if (input.pinDigest) {
      // The secret's credentials are used before the write: check first that this image may use it.
      const owner = await ownerForCreate(this.dataSource.manager, this.access, input.ownerGroupId);
      await assertOwnedImageRules(this.dataSource.manager, { global: input.global ?? false, pullSecretId: input.pullSecretId ?? null }, owner);
      input = { ...input, ...(await this.pinned({ url: input.url, urlForGpu: input.urlForGpu ?? null, type: input.type ?? 'UNIVERSAL', pullSecretId: input.pullSecretId ?? null })) };
    }
    const now = new Date();
    const blank = Object.assign(new Image(), {
      id: randomUUID(),
      name: input.name,
      displayName: input.name,
      description: null,
      type: 'UNIVERSAL',
      url: input.url,
      urlForGpu: null,
      pullSecretId: null,
      ownerGroupId: null,
      global: false,
      enabled: true,
      version: 1,
      createdAt: now,
      updatedAt: now,
      createdBy: this.access.actor,
      updatedBy: this.access.actor,
    });
    const image = applyImagePatch(blank, input);
    Object.assign(image, textKeys(image, SEARCHABLE.images));
    let groupIds = unique(input.groupIds ?? []);
    await inTransaction(this.dataSource, async (m) => {
      const owner = await ownerForCreate(m, this.access, input.ownerGroupId);
      image.ownerGroupId = owner?.id ?? null;
      // A group's image is linked to its group from the start.
      if (owner && !groupIds.includes(owner.id)) groupIds = [...groupIds, owner.id];
      assertLinks(this.access, owner, groupIds);
      if (image.pullSecretId != null) await assertPullSecretExists(m, image.pullSecretId, 'pullSecretId');
      await assertOwnedImageRules(m, image, owner);
      await assertGroupsExist(m, groupIds, 'groupIds');
      await m.insert(Image, image);
      await insertLinks(m, image.id, groupIds);
      const groupChange = groupIds.length > 0 ? [{ field: 'groupIds', oldValue: null, newValue: [...groupIds].sort() }] : [];
      await this.audit(m, 'CREATE', image, [...diff(AUDITED, null, image), ...groupChange], now);
    });
    this.prime([image]);
    this.checker.enqueue([image.id]);
    return image;
  }

  async update(id: string, input: UpdateImageInput): Promise<Image> {
    await this.assertManages(id, 'id');
    if (input.pinDigest) input = await this.withPinnedReferences(id, input);
    let recheck = false;
    const image = await inTransaction(this.dataSource, async (m) => {
      const current = await this.lockedCurrent(m, id, 'id', input.expectedVersion);
      const next = applyImagePatch(current, input);
      const changes = changedFields(current, next);
      if (Object.keys(changes).length === 0) return current;
      if ('displayName' in changes || 'description' in changes) {
        const keys = textKeys(next, SEARCHABLE.images);
        Object.assign(next, keys);
        Object.assign(changes, keys);
      }
      if (changes.pullSecretId != null) await assertPullSecretExists(m, changes.pullSecretId, 'pullSecretId');
      if (current.ownerGroupId) await assertOwnedImageRules(m, next, await m.findOneBy(Group, { id: current.ownerGroupId }));
      const updated = await this.bumpVersion(m, current, next, changes, input.expectedVersion != null);
      await this.audit(m, 'UPDATE', current, diff(AUDITED, current, next), updated.updatedAt);
      recheck = CHECKED_FIELDS.some((field) => field in changes);
      // The last result was about other references or credentials: the image is UNCHECKED until checked again.
      if (recheck) await forgetAvailability(m, { imageId: id });
      return updated;
    });
    this.forget(id);
    this.prime([image]);
    if (recheck) this.checker.enqueue([id]);
    return image;
  }

  /** `checkImage`: asks the registry now and answers with the fresh availability. */
  async check(id: string): Promise<Image> {
    await this.assertManages(id, 'id');
    if (!this.checker.enabled) throw registryChecksOff('checkImage');
    const found = isRecordId(id) && (await this.checker.checkNow(id, this.access.actor));
    if (!found) throw notFound('image', 'id', [id]);
    // A check changes the image's availability only, never the image.
    this.loaders.availabilityByImageId.clear(id);
    const image = await this.loaders.imageById.load(id);
    if (!image) throw notFound('image', 'id', [id]);
    return image;
  }

  /**
   * Group admins change only their groups' own images. The owner never changes, so it can be read
   * before the write's transaction; admins need no read at all.
   */
  private async assertManages(id: string, field: string): Promise<void> {
    if (this.access.isAdmin) return;
    const target = isRecordId(id) ? await this.dataSource.getRepository(Image).findOne({ where: { id }, select: { id: true, ownerGroupId: true } }) : null;
    if (!target) throw notFound('image', field, [id]);
    await assertManages(this.access, this.loaders, target, field);
  }

  /**
   * The input with `url` and `urlForGpu` (new or current) pinned. The pin is resolved before the
   * transaction, so the update is made conditional on the version it was resolved for.
   */
  private async withPinnedReferences(id: string, input: UpdateImageInput): Promise<UpdateImageInput> {
    const current = isRecordId(id) ? await this.loaders.imageById.load(id) : null;
    if (!current) throw notFound('image', 'id', [id]);
    if (input.expectedVersion != null && input.expectedVersion !== current.version) throw staleVersion(input.expectedVersion, current.version);
    const next = applyImagePatch(current, input);
    // The secret's credentials are used before the write: check first that this image may use it.
    if (current.ownerGroupId) await assertOwnedImageRules(this.dataSource.manager, next, await this.dataSource.manager.findOneBy(Group, { id: current.ownerGroupId }));
    return { ...input, ...(await this.pinned(next)), expectedVersion: input.expectedVersion ?? current.version };
  }

  /** The references resolved to digests with the secret's credentials; BAD_USER_INPUT on the field the registry does not have. */
  private async pinned(image: Pick<Image, 'url' | 'urlForGpu' | 'type' | 'pullSecretId'>): Promise<{ url: string; urlForGpu?: string | null }> {
    if (!this.checker.enabled) throw badUserInput([{ field: 'pinDigest', message: 'needs registry checks, which are off here (REGISTRY_CHECKS=off)' }]);
    if (image.pullSecretId != null && !isRecordId(image.pullSecretId)) throw notFound('image pull secret', 'pullSecretId', [image.pullSecretId]);
    const pin = async (field: 'url' | 'urlForGpu', reference: string): Promise<string> => {
      const parsed = parseImageReference(reference, this.checker.defaultHost);
      // A digest-only reference is pinned already; one with a tag is resolved from its tag.
      if (parsed.tag === null) return reference;
      const check = await this.checker.resolve(withoutDigest(reference), image.pullSecretId);
      if (check.state !== 'AVAILABLE' || !check.digest) throw badUserInput([{ field, message: `cannot be pinned (${check.state}): ${check.message}` }]);
      const pinned = pinnedReference(reference, check.digest);
      if (pinned.length > MAX_URL) throw badUserInput([{ field, message: `pinned, it would be longer than ${MAX_URL} characters` }]);
      return pinned;
    };
    const gpuReference = image.type === 'UNIVERSAL' ? image.urlForGpu : null;
    const [url, urlForGpu] = await Promise.all([pin('url', image.url), gpuReference ? pin('urlForGpu', gpuReference) : undefined]);
    return { url, ...(urlForGpu !== undefined ? { urlForGpu } : {}) };
  }

  async delete(id: string): Promise<string> {
    await this.assertManages(id, 'id');
    await inTransaction(this.dataSource, async (m) => {
      // Locked first, so the group ids it audits are not changed by a writer holding the image.
      const current = await this.lockedCurrent(m, id, 'id');
      const groupIds = await linkedGroupIds(m, id);
      const result = await m.delete(Image, { id });
      // Someone else deleted it between the read and the delete: report it as they would see it.
      if (!result.affected) throw notFound('image', 'id', [id]);
      const groupChange = groupIds.length > 0 ? [{ field: 'groupIds', oldValue: groupIds, newValue: null }] : [];
      await this.audit(m, 'DELETE', current, [...diff(AUDITED, current, null), ...groupChange]);
    });
    this.forget(id);
    return id;
  }

  /** Replaces the image's whole group set; the version goes up only when the set changes. */
  async setGroups(imageId: string, groupIds: string[]): Promise<Image> {
    const wanted = unique(groupIds);
    const image = await inTransaction(this.dataSource, async (m) => {
      const current = await this.lockedCurrent(m, imageId, 'imageId');
      if (current.ownerGroupId) assertLinks(this.access, await m.findOneBy(Group, { id: current.ownerGroupId }), wanted);
      await assertGroupsExist(m, wanted, 'groupIds');
      const existing = await linkedGroupIds(m, imageId);
      const toRemove = existing.filter((g) => !wanted.includes(g));
      const toAdd = wanted.filter((g) => !existing.includes(g));
      if (toRemove.length === 0 && toAdd.length === 0) return current;
      const next = await this.bumpVersion(m, current, current, {}, false);
      if (toRemove.length > 0) await m.delete(ImageGroupLink, { imageId, groupId: In(toRemove) });
      await insertLinks(m, imageId, toAdd);
      await this.audit(m, 'SET_GROUPS', current, [{ field: 'groupIds', oldValue: existing, newValue: [...wanted].sort() }], next.updatedAt);
      return next;
    });
    this.forget(imageId);
    this.prime([image]);
    return image;
  }

  /**
   * The image as it is now, row-locked on MySQL/MariaDB (SQLite runs one transaction at a time):
   * concurrent writers of one image then take turns instead of racing to the version check and
   * rerunning, which under 20 parallel calls ran some out of retries.
   */
  private async lockedCurrent(m: EntityManager, id: string, field: string, expectedVersion?: number | null): Promise<Image> {
    const current = isRecordId(id) ? await m.findOne(Image, { where: { id }, ...forUpdate(m.connection) }) : null;
    if (!current) throw notFound('image', field, [id]);
    if (expectedVersion != null && expectedVersion !== current.version) throw staleVersion(expectedVersion, current.version);
    return current;
  }

  /**
   * Writes the changes with version + 1, on the condition that nobody else bumped it since we read
   * it. On MySQL the UPDATE also row-locks the image, so concurrent writers of one image queue up.
   */
  private async bumpVersion(m: EntityManager, current: Image, next: Image, changes: Partial<Image>, strict: boolean): Promise<Image> {
    const updatedAt = new Date();
    const version = current.version + 1;
    const updatedBy = this.access.actor;
    const result = await m.update(Image, { id: current.id, version: current.version }, { ...changes, version, updatedAt, updatedBy });
    if (result.affected !== 1) {
      if (strict) throw staleVersion(current.version);
      throw new ConcurrentChangeError();
    }
    return Object.assign(new Image(), next, { version, updatedAt, updatedBy });
  }

  private audit(m: EntityManager, operation: AuditOperation, image: Image, changes: AuditChange[], at?: Date): Promise<void> {
    return recordAudit(m, this.access.actor, [{ operation, entityType: 'IMAGE', entity: image, changes }], at);
  }

  private prime(images: Image[]): void {
    for (const image of images) {
      this.loaders.imageById.prime(image.id, image);
      this.loaders.imageByName.prime(image.name, image);
    }
  }

  private forget(imageId: string): void {
    this.loaders.imageById.clear(imageId);
    this.loaders.imageByName.clearAll();
    this.loaders.groupsByImageId.clear(imageId);
    this.loaders.groupSummariesByImageId.clear(imageId);
    this.loaders.imagesByGroupId.clearAll();
    this.loaders.imagesByPullSecretId.clearAll();
    // A change of references deletes the last check's result.
    this.loaders.availabilityByImageId.clear(imageId);
  }
}

function staleVersion(expected: number, actual?: number) {
  const now = actual === undefined ? 'another request changed it first' : `it is at version ${actual}`;
  return conflict(`The image was changed meanwhile: expected version ${expected}, but ${now}; reload and try again`, {
    field: 'expectedVersion',
    fields: [{ field: 'expectedVersion', message: `is stale: ${now}` }],
    ...(actual === undefined ? {} : { actualVersion: actual }),
  });
}

/** `image.availability IN (...)`; an image without a result is UNCHECKED. */
function whereAvailabilityIn(qb: SelectQueryBuilder<Image>, states: string[]): void {
  if (states.length === 0) return void qb.andWhere('1 = 0');
  const checked = `${IMAGE_ALIAS}.id IN (SELECT filter_availability.imageId FROM image_availability filter_availability WHERE filter_availability.state IN (:...availabilityStates))`;
  const never = `${IMAGE_ALIAS}.id NOT IN (SELECT never_availability.imageId FROM image_availability never_availability)`;
  qb.andWhere(states.includes('UNCHECKED') ? `(${checked} OR ${never})` : checked, { availabilityStates: states });
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}

async function linkedGroupIds(m: EntityManager, imageId: string): Promise<string[]> {
  const links = await m.find(ImageGroupLink, { where: { imageId }, order: { groupId: 'ASC' } });
  return links.map((l) => l.groupId);
}

async function insertLinks(m: EntityManager, imageId: string, groupIds: string[]): Promise<void> {
  if (groupIds.length === 0) return;
  await m.insert(
    ImageGroupLink,
    groupIds.map((groupId) => ({ imageId, groupId })),
  );
}
