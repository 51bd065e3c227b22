import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuditEntry, diff, recordAudit, REDACTED } from '../audit/audit-trail';
import type { AccessPolicy } from '../auth/access-policy';
import { displayNameOr } from '../common/input-rules';
import { orderingOf, whereSearch } from '../common/list-query';
import { findByIdOrName } from '../common/lookup';
import { Connection } from '../db/connection';
import { paginate, PageArgs } from '../db/keyset-pagination';
import { inTransaction } from '../db/transaction';
import { isRecordId } from '../db/record-id';
import { conflict, notFound } from '../errors';
import type { ImagePullSecretFilter, ImagePullSecretOrder } from '../generated/graphql';
import { detachPullSecret, imagesUsingPullSecret } from '../images/image-relations';
import type { Loaders } from '../loaders';
import { ImagePullSecret } from './image-pull-secret.entity';
import { CreateImagePullSecretInput, UpdateImagePullSecretInput } from './image-pull-secret.inputs';
import { PasswordCipher } from './password-cipher';

const EDITABLE = ['displayName', 'registryHost', 'username'] as const;
const AUDITED = ['name', 'displayName', 'registryHost', 'username'] as const;
const PASSWORD_CHANGE = { field: 'password', oldValue: REDACTED, newValue: REDACTED };

export class ImagePullSecretService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly loaders: Loaders,
    private readonly access: AccessPolicy,
    private readonly cipher: PasswordCipher,
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
    whereSearch(qb, ['name', 'displayName'], filter?.search);
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
    await inTransaction(this.dataSource, async (m) => {
      await m.insert(ImagePullSecret, { ...secret, password: this.cipher.seal(secret.id, input.password) });
      await this.audit(m, [{ operation: 'CREATE', entityType: 'IMAGE_PULL_SECRET', entity: secret, changes: [...diff(AUDITED, null, secret), { ...PASSWORD_CHANGE, oldValue: null }] }], now);
    });
    this.loaders.pullSecretById.prime(secret.id, secret);
    return secret;
  }

  async update(id: string, input: UpdateImagePullSecretInput): Promise<ImagePullSecret> {
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
      const passwordChange = input.password !== undefined ? { password: this.cipher.seal(id, input.password) } : {};
      await m.update(
        ImagePullSecret,
        { id },
        {
          displayName: next.displayName,
          registryHost: next.registryHost,
          username: next.username,
          updatedAt: next.updatedAt,
          updatedBy: next.updatedBy,
          ...passwordChange,
        },
      );
      await this.audit(m, [{ operation: 'UPDATE', entityType: 'IMAGE_PULL_SECRET', entity: current, changes }], next.updatedAt);
      return next;
    });
    this.loaders.pullSecretById.clear(id).prime(id, secret);
    return secret;
  }

  /**
   * Refuses while images use the secret (CONFLICT listing them), unless `detach`, which clears
   * their reference in the same transaction.
   */
  async delete(id: string, detach: boolean): Promise<string> {
    await inTransaction(this.dataSource, async (m) => {
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
      if (users.length > 0) await detachPullSecret(m, id, now, this.access.actor);
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
    });
    this.loaders.pullSecretById.clear(id);
    this.loaders.imagesByPullSecretId.clear(id);
    this.loaders.imageById.clearAll();
    return id;
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
