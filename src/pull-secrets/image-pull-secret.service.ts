import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { displayNameOr } from '../common/input-rules';
import { orderingOf, whereSearch } from '../common/list-query';
import { findByIdOrName } from '../common/lookup';
import { Connection } from '../db/connection';
import { paginate, PageArgs } from '../db/keyset-pagination';
import { inTransaction } from '../db/transaction';
import { conflict, notFound } from '../errors';
import type { ImagePullSecretFilter, ImagePullSecretOrder } from '../generated/graphql';
import { detachPullSecret, imagesUsingPullSecret } from '../images/image-relations';
import type { Loaders } from '../loaders';
import { ImagePullSecret } from './image-pull-secret.entity';
import { CreateImagePullSecretInput, UpdateImagePullSecretInput } from './image-pull-secret.inputs';

const EDITABLE = ['displayName', 'registryHost', 'username'] as const;

export class ImagePullSecretService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly loaders: Loaders,
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
    });
    await inTransaction(this.dataSource, (m) => m.insert(ImagePullSecret, { ...secret, password: input.password }));
    this.loaders.pullSecretById.prime(secret.id, secret);
    return secret;
  }

  async update(id: string, input: UpdateImagePullSecretInput): Promise<ImagePullSecret> {
    const secret = await inTransaction(this.dataSource, async (m) => {
      const current = await m.findOneBy(ImagePullSecret, { id });
      if (!current) throw notFound('image pull secret', 'id', [id]);
      const next = Object.assign(new ImagePullSecret(), current);
      if (input.displayName !== undefined) next.displayName = displayNameOr(input.displayName, current.name);
      if (input.registryHost !== undefined) next.registryHost = input.registryHost;
      if (input.username !== undefined) next.username = input.username;
      const changed = EDITABLE.some((key) => next[key] !== current[key]) || input.password !== undefined;
      if (!changed) return current;
      next.updatedAt = new Date();
      const passwordChange = input.password !== undefined ? { password: input.password } : {};
      await m.update(
        ImagePullSecret,
        { id },
        { displayName: next.displayName, registryHost: next.registryHost, username: next.username, updatedAt: next.updatedAt, ...passwordChange },
      );
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
      const current = await m.findOneBy(ImagePullSecret, { id });
      if (!current) throw notFound('image pull secret', 'id', [id]);
      if (detach) {
        await detachPullSecret(m, id, new Date());
      } else {
        const users = await imagesUsingPullSecret(m, id);
        if (users.length > 0) {
          throw conflict(`Image pull secret "${current.name}" is used by ${users.length} image(s): ${users.map((i) => i.name).join(', ')}; pass detach: true to clear it from them`, {
            field: 'id',
            images: users.map((i) => ({ id: i.id, name: i.name })),
          });
        }
      }
      await m.delete(ImagePullSecret, { id });
    });
    this.loaders.pullSecretById.clear(id);
    this.loaders.imagesByPullSecretId.clear(id);
    this.loaders.imageById.clearAll();
    return id;
  }
}

/** For other domains: fails with NOT_FOUND when the id is not a pull secret. */
export async function assertPullSecretExists(manager: EntityManager, id: string, field: string): Promise<void> {
  const found = await manager.exists(ImagePullSecret, { where: { id } });
  if (!found) throw notFound('image pull secret', field, [id]);
}
