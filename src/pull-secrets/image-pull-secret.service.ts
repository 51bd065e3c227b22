import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, In } from 'typeorm';
import { AuditEntry, diff, recordAudit, REDACTED } from '../audit/audit-trail';
import type { AccessPolicy } from '../auth/access-policy';
import { displayNameOr } from '../common/input-rules';
import { SEARCHABLE, textKeys } from '../common/text-keys';
import { orderingOf, whereSearch } from '../common/list-query';
import { findByIdOrName } from '../common/lookup';
import { Connection } from '../db/connection';
import { paginate, PageArgs } from '../db/keyset-pagination';
import { inTransaction } from '../db/transaction';
import { isRecordId } from '../db/record-id';
import { conflict, notFound, registryChecksOff } from '../errors';
import { assertGroupsExist } from '../groups/group.service';
import { forUpdate, shareLock } from '../db/dialect';
import type { AvailabilityChecker } from '../images/availability-checker';
import { forgetAvailability } from '../images/image-availability.store';
import type { ImagePullSecretFilter, ImagePullSecretOrder } from '../generated/graphql';
import { detachPullSecret, imagesUsingPullSecret, ownedImagesUsingSecret } from '../images/image-relations';
import type { Loaders } from '../loaders';
import { ImagePullSecret } from './image-pull-secret.entity';
import { PullSecretShare } from './pull-secret-share.entity';
import { CreateImagePullSecretInput, UpdateImagePullSecretInput } from './image-pull-secret.inputs';
import { PasswordCipher } from './password-cipher';
import type { LoginCheck } from '../registry/registry-checks';

const EDITABLE = ['displayName', 'registryHost', 'username'] as const;
const AUDITED = ['name', 'displayName', 'registryHost', 'username'] as const;
/** A change to any of these makes the registry checks of the secret's images meaningless. */
const CREDENTIAL_FIELDS = ['registryHost', 'username', 'password'];
const PASSWORD_CHANGE = { field: 'password', oldValue: REDACTED, newValue: REDACTED };

export class ImagePullSecretService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly loaders: Loaders,
    private readonly access: AccessPolicy,
    private readonly cipher: PasswordCipher,
    private readonly checker: AvailabilityChecker,
  ) {}

  find(args: { id?: string | null; name?: string | null }): Promise<ImagePullSecret | null> {
    return findByIdOrName(args, { byId: this.loaders.pullSecretById, byName: this.loaders.pullSecretByName });
  }

  async list(
    filter: ImagePullSecretFilter | null | undefined,
    orderBy: ImagePullSecretOrder | null | undefined,
    page: PageArgs,
  ): Promise<Connection<ImagePullSecret>> {
    const qb = this.dataSource.getRepository(ImagePullSecret).createQueryBuilder('secret');
    whereSearch(qb, filter?.search);
    const connection = await paginate(qb, orderingOf(orderBy), page);
    for (const secret of connection.nodes) this.loaders.pullSecretById.prime(secret.id, secret);
    return connection;
  }

  async create(input: CreateImagePullSecretInput): Promise<ImagePullSecret> {
    const now = new Date();
    const secret = Object.assign(new ImagePullSecret(), {
      id: randomUUID(),
      name: input.name,
      displayName: displayNameOr(input.displayName, input.name),
      registryHost: input.registryHost,
      username: input.username,
      createdAt: now,
      updatedAt: now,
      createdBy: this.access.actor,
      updatedBy: this.access.actor,
    });
    Object.assign(secret, textKeys(secret, SEARCHABLE.image_pull_secrets));
    await inTransaction(this.dataSource, async (m) => {
      await m.insert(ImagePullSecret, { ...secret, password: this.cipher.seal(secret.id, input.password) });
      await this.audit(m, [{ operation: 'CREATE', entityType: 'IMAGE_PULL_SECRET', entity: secret, changes: [...diff(AUDITED, null, secret), { ...PASSWORD_CHANGE, oldValue: null }] }], now);
    });
    this.loaders.pullSecretById.prime(secret.id, secret);
    return secret;
  }

  async update(id: string, input: UpdateImagePullSecretInput): Promise<ImagePullSecret> {
    let credentialsChanged = false;
    const secret = await inTransaction(this.dataSource, async (m) => {
      const current = isRecordId(id) ? await m.findOneBy(ImagePullSecret, { id }) : null;
      if (!current) throw notFound('image pull secret', 'id', [id]);
      const next = Object.assign(new ImagePullSecret(), current);
      if (input.displayName !== undefined) next.displayName = displayNameOr(input.displayName, current.name);
      if (input.registryHost !== undefined) next.registryHost = input.registryHost;
      if (input.username !== undefined) next.username = input.username;
      const changes = diff(EDITABLE, current, next);
      if (input.password !== undefined) changes.push(PASSWORD_CHANGE);
      if (changes.length === 0) return current;
      next.updatedAt = new Date();
      next.updatedBy = this.access.actor;
      Object.assign(next, textKeys(next, SEARCHABLE.image_pull_secrets));
      const passwordChange = input.password !== undefined ? { password: this.cipher.seal(id, input.password) } : {};
      await m.update(
        ImagePullSecret,
        { id },
        {
          displayName: next.displayName,
          displayNameKey: next.displayNameKey,
          searchText: next.searchText,
          registryHost: next.registryHost,
          username: next.username,
          updatedAt: next.updatedAt,
          updatedBy: next.updatedBy,
          ...passwordChange,
        },
      );
      await this.audit(m, [{ operation: 'UPDATE', entityType: 'IMAGE_PULL_SECRET', entity: current, changes }], next.updatedAt);
      credentialsChanged = changes.some((change) => CREDENTIAL_FIELDS.includes(change.field));
      // Checks made with the old credentials say nothing about the new ones.
      if (credentialsChanged) await forgetAvailability(m, { pullSecretId: id });
      return next;
    });
    this.loaders.pullSecretById.clear(id).prime(id, secret);
    this.loaders.pullSecretSummaryById.clear(id);
    if (credentialsChanged) await this.checker.enqueueUsersOf(id);
    return secret;
  }

  /**
   * Refuses while images use the secret (CONFLICT listing them), unless `detach`, which clears
   * their reference in the same transaction.
   */
  async delete(id: string, detach: boolean): Promise<string> {
    const detached = await inTransaction(this.dataSource, async (m) => {
      const current = isRecordId(id) ? await m.findOneBy(ImagePullSecret, { id }) : null;
      if (!current) throw notFound('image pull secret', 'id', [id]);
      const users = await imagesUsingPullSecret(m, id);
      if (users.length > 0 && !detach) {
        throw conflict(`Image pull secret "${current.name}" is used by ${users.length} image(s): ${users.map((i) => i.name).join(', ')}; pass detach: true to clear it from them`, {
          field: 'id',
          images: users.map((i) => ({ id: i.id, name: i.name })),
        });
      }
      const now = new Date();
      if (users.length > 0) {
        await forgetAvailability(m, { pullSecretId: id });
        await detachPullSecret(m, id, now, this.access.actor);
      }
      await m.delete(ImagePullSecret, { id });
      await this.audit(
        m,
        [
          ...users.map((image): AuditEntry => ({
            operation: 'UPDATE',
            entityType: 'IMAGE',
            entity: image,
            changes: [{ field: 'pullSecretId', oldValue: id, newValue: null }],
          })),
          { operation: 'DELETE', entityType: 'IMAGE_PULL_SECRET', entity: current, changes: diff(AUDITED, current, null) },
        ],
        now,
      );
      return users.map((image) => image.id);
    });
    // Without the secret they are pulled anonymously now: check that.
    this.checker.enqueue(detached);
    this.loaders.pullSecretById.clear(id);
    this.loaders.pullSecretSummaryById.clear(id);
    this.loaders.imagesByPullSecretId.clear(id);
    this.loaders.imageById.clearAll();
    return id;
  }

  /**
   * Replaces the groups the secret is shared with. A group whose own images use it keeps it:
   * unsharing would leave them with a secret they may not use (CONFLICT, listing them).
   */
  async setGroups(id: string, groupIds: string[]): Promise<ImagePullSecret> {
    const wanted = [...new Set(groupIds)];
    const secret = await inTransaction(this.dataSource, async (m) => {
      const current = isRecordId(id) ? await m.findOne(ImagePullSecret, { where: { id }, ...forUpdate(m.connection) }) : null;
      if (!current) throw notFound('image pull secret', 'pullSecretId', [id]);
      await assertGroupsExist(m, wanted, 'groupIds');
      const existing = (await m.find(PullSecretShare, { where: { pullSecretId: id }, order: { groupId: 'ASC' } })).map((share) => share.groupId);
      const toRemove = existing.filter((g) => !wanted.includes(g));
      const toAdd = wanted.filter((g) => !existing.includes(g));
      if (toRemove.length === 0 && toAdd.length === 0) return current;
      // The shares go first: deleting them waits for any image write that read them, and the images
      // are then read as committed (locking), so one created meanwhile is seen.
      if (toRemove.length > 0) await m.delete(PullSecretShare, { pullSecretId: id, groupId: In(toRemove) });
      const stranded = await ownedImagesUsingSecret(m, id, toRemove, true);
      if (stranded.length > 0) {
        throw conflict(`Image pull secret "${current.name}" is used by images of the groups it would be unshared from: ${stranded.map((i) => i.name).join(', ')}`, {
          field: 'groupIds',
          images: stranded.map((i) => ({ id: i.id, name: i.name })),
        });
      }
      if (toAdd.length > 0) await m.insert(PullSecretShare, toAdd.map((groupId) => ({ pullSecretId: id, groupId })));
      const next = Object.assign(new ImagePullSecret(), current, { updatedAt: new Date(), updatedBy: this.access.actor });
      await m.update(ImagePullSecret, { id }, { updatedAt: next.updatedAt, updatedBy: next.updatedBy });
      await this.audit(m, [{ operation: 'SET_GROUPS', entityType: 'IMAGE_PULL_SECRET', entity: current, changes: [{ field: 'groupIds', oldValue: existing, newValue: [...wanted].sort() }] }], next.updatedAt);
      return next;
    });
    this.loaders.pullSecretById.clear(id).prime(id, secret);
    this.loaders.pullSecretSummaryById.clear(id);
    this.loaders.groupsSharingPullSecretId.clear(id);
    this.loaders.pullSecretsSharedWithGroupId.clearAll();
    return secret;
  }

  /** `checkImagePullSecret`: a login with the secret's credentials. */
  async check(id: string): Promise<PullSecretCheck> {
    if (!this.checker.enabled) throw registryChecksOff('checkImagePullSecret');
    const secret = isRecordId(id) ? await this.loaders.pullSecretById.load(id) : null;
    const login = secret ? await this.checker.checkLogin(id) : null;
    if (!secret || !login) throw notFound('image pull secret', 'id', [id]);
    return { ...login, secret };
  }

  /** The `.dockerconfigjson` document Kubernetes pull secrets hold; the read itself is audited. */
  async dockerConfigJson(id: string): Promise<string | null> {
    if (!isRecordId(id)) return null;
    return inTransaction(this.dataSource, async (m) => {
      const secret = await m
        .createQueryBuilder(ImagePullSecret, 'secret')
        .addSelect('secret.password')
        .where('secret.id = :id', { id })
        .getOne();
      if (!secret) return null;
      const password = this.cipher.open(secret.id, secret.password ?? '');
      await this.audit(m, [{ operation: 'READ_SECRET', entityType: 'IMAGE_PULL_SECRET', entity: secret }]);
      const auth = Buffer.from(`${secret.username}:${password}`).toString('base64');
      return JSON.stringify({ auths: { [secret.registryHost]: { username: secret.username, password, auth } } });
    });
  }

  private audit(m: EntityManager, entries: AuditEntry[], at?: Date): Promise<void> {
    return recordAudit(m, this.access.actor, entries, at);
  }
}

/** For other domains: fails with NOT_FOUND when the id is not a pull secret. */
export async function assertPullSecretExists(manager: EntityManager, id: string, field: string): Promise<void> {
  const found = isRecordId(id) && (await manager.exists(ImagePullSecret, { where: { id } }));
  if (!found) throw notFound('image pull secret', field, [id]);
}

export interface PullCredentials {
  registryHost: string;
  username: string;
  password: string;
  /** Changes with every update of the secret: a registry check compares it before it writes. */
  updatedAt: Date;
}

/** For registry checks: the secret's credentials, opened. Never to be logged or returned. */
export async function pullCredentials(manager: EntityManager, cipher: PasswordCipher, id: string): Promise<PullCredentials | null> {
  const secret = await manager.createQueryBuilder(ImagePullSecret, 'secret').addSelect('secret.password').where('secret.id = :id', { id }).getOne();
  if (!secret) return null;
  return { registryHost: secret.registryHost, username: secret.username, password: cipher.open(secret.id, secret.password ?? ''), updatedAt: secret.updatedAt };
}

/** What `checkImagePullSecret` answers: the registry's word on the credentials, with the secret. */
export interface PullSecretCheck extends LoginCheck {
  secret: ImagePullSecret;
}

/**
 * For other domains: whether a platform admin shared the secret with the group. A locking read,
 * so an unsharing that is under way is waited for (and then seen), and one that comes later waits
 * for the image using the secret to commit, and then sees it.
 */
export async function isSharedWith(manager: EntityManager, pullSecretId: string, groupId: string): Promise<boolean> {
  const lock = shareLock(manager.connection);
  // The secret first, as setGroups takes it: the two then take turns instead of deadlocking.
  await manager.query(`SELECT id FROM image_pull_secrets WHERE id = ?${lock}`, [pullSecretId]);
  const shares: unknown[] = await manager.query(`SELECT groupId FROM image_pull_secret_groups WHERE pullSecretId = ? AND groupId = ?${lock}`, [pullSecretId, groupId]);
  return shares.length > 0;
}
