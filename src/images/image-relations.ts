import { EntityManager } from 'typeorm';
import { shareLock } from '../db/dialect';
import { Image } from './image.entity';

/**
 * What the group and pull-secret domains may do to images, inside their own transactions.
 * Losing a group link or a pull secret is a change to the image, so its version goes up.
 */
export async function touchImagesOfGroup(manager: EntityManager, groupId: string, now: Date, actor: string): Promise<void> {
  await manager
    .createQueryBuilder()
    .update(Image)
    .set({ version: () => 'version + 1', updatedAt: now, updatedBy: actor })
    .where('id IN (SELECT imageId FROM image_group_links WHERE groupId = :groupId)', { groupId })
    .execute();
}

export function imagesUsingPullSecret(manager: EntityManager, pullSecretId: string): Promise<Pick<Image, 'id' | 'name'>[]> {
  return manager.find(Image, { select: { id: true, name: true }, where: { pullSecretId }, order: { name: 'ASC' } });
}

export async function detachPullSecret(manager: EntityManager, pullSecretId: string, now: Date, actor: string): Promise<void> {
  await manager
    .createQueryBuilder()
    .update(Image)
    .set({ pullSecretId: null, version: () => 'version + 1', updatedAt: now, updatedBy: actor })
    .where('pullSecretId = :pullSecretId', { pullSecretId })
    .execute();
}

/**
 * Each image linked to the group, with the ids of all its groups (before the group goes). With
 * `locking` (MySQL) the rows are read as committed now, not as the transaction's snapshot had them.
 */
export async function groupSetsOfImagesIn(
  manager: EntityManager,
  groupId: string,
  locking = false,
): Promise<{ id: string; name: string; groupIds: string[] }[]> {
  const query = manager
    .createQueryBuilder()
    .select(['link.imageId AS imageId', 'image.name AS imageName', 'link.groupId AS groupId'])
    .from('image_group_links', 'link')
    .innerJoin('images', 'image', 'image.id = link.imageId')
    .where('link.imageId IN (SELECT inner_link.imageId FROM image_group_links inner_link WHERE inner_link.groupId = :groupId)', { groupId })
    .orderBy('link.groupId', 'ASC');
  const rows: { imageId: string; imageName: string; groupId: string }[] = await (locking ? query.setLock('pessimistic_write') : query).getRawMany();
  const byImage = new Map<string, { id: string; name: string; groupIds: string[] }>();
  for (const row of rows) {
    const image = byImage.get(row.imageId) ?? { id: row.imageId, name: row.imageName, groupIds: [] };
    image.groupIds.push(row.groupId);
    byImage.set(row.imageId, image);
  }
  return [...byImage.values()];
}

/** The images a group owns, by name: a group that owns images cannot be deleted before them. */
export function imagesOwnedBy(manager: EntityManager, groupId: string): Promise<Pick<Image, 'id' | 'name'>[]> {
  return manager.find(Image, { select: { id: true, name: true }, where: { ownerGroupId: groupId }, order: { name: 'ASC' } });
}

/**
 * The images of these owner groups that use the secret: unsharing it from them would strand them.
 * With `locking` (MySQL) they are read as committed now, not as the transaction's snapshot had them.
 */
export async function ownedImagesUsingSecret(manager: EntityManager, pullSecretId: string, ownerGroupIds: string[], locking = false): Promise<Pick<Image, 'id' | 'name'>[]> {
  if (ownerGroupIds.length === 0) return [];
  const groups = ownerGroupIds.map(() => '?').join(', ');
  const lock = locking ? shareLock(manager.connection) : '';
  return manager.query(`SELECT id, name FROM images WHERE pullSecretId = ? AND ownerGroupId IN (${groups}) ORDER BY name${lock}`, [pullSecretId, ...ownerGroupIds]);
}
