import { EntityManager } from 'typeorm';
import { Image } from './image.entity';

/**
 * What the group and pull-secret domains may do to images, inside their own transactions.
 * Losing a group link or a pull secret is a change to the image, so its version goes up.
 */
export async function touchImagesOfGroup(manager: EntityManager, groupId: string, now: Date): Promise<void> {
  await manager
    .createQueryBuilder()
    .update(Image)
    .set({ version: () => 'version + 1', updatedAt: now })
    .where('id IN (SELECT imageId FROM image_group_links WHERE groupId = :groupId)', { groupId })
    .execute();
}

export function imagesUsingPullSecret(manager: EntityManager, pullSecretId: string): Promise<Pick<Image, 'id' | 'name'>[]> {
  return manager.find(Image, { select: { id: true, name: true }, where: { pullSecretId }, order: { name: 'ASC' } });
}

export async function detachPullSecret(manager: EntityManager, pullSecretId: string, now: Date): Promise<void> {
  await manager
    .createQueryBuilder()
    .update(Image)
    .set({ pullSecretId: null, version: () => 'version + 1', updatedAt: now })
    .where('pullSecretId = :pullSecretId', { pullSecretId })
    .execute();
}
