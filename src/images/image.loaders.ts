import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { lookupLoaders, manyByKey, scoped } from '../db/loader-helpers';
import { ImageGroupLink } from './image-group-link.entity';
import { Image } from './image.entity';

export function createImageLoaders(dataSource: DataSource, access: AccessPolicy) {
  const images = dataSource.getRepository(Image);
  const { byId: imageById, byName: imageByName } = lookupLoaders(images, (alias) => access.visibleImages(alias));
  // A member reaches only their own groups, and every image linked to one of them is visible.
  const imagesByGroupId = new DataLoader<string, Image[]>(async (groupIds) => {
    const qb = dataSource
      .getRepository(ImageGroupLink)
      .createQueryBuilder('link')
      .innerJoinAndSelect('link.image', 'image')
      .where('link.groupId IN (:...groupIds)', { groupIds: [...groupIds] });
    const links = await scoped(qb, access.visibleGroupId('link.groupId')).orderBy('image.name', 'ASC').getMany();
    return manyByKey(groupIds, links, (l) => l.groupId).map((list) => list.map((l) => l.image as Image));
  });
  const imagesByPullSecretId = new DataLoader<string, Image[]>(async (secretIds) => {
    const qb = images.createQueryBuilder('image').where('image.pullSecretId IN (:...secretIds)', { secretIds: [...secretIds] });
    const rows = await scoped(qb, access.visibleImages('image')).orderBy('image.name', 'ASC').getMany();
    return manyByKey(secretIds, rows, (i) => i.pullSecretId as string);
  });
  return { imageById, imageByName, imagesByGroupId, imagesByPullSecretId };
}

export type ImageLoaders = ReturnType<typeof createImageLoaders>;
