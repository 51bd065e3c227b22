import DataLoader from 'dataloader';
import { DataSource, In } from 'typeorm';
import { lookupLoaders, manyByKey } from '../db/loader-helpers';
import { ImageGroupLink } from './image-group-link.entity';
import { Image } from './image.entity';

export function createImageLoaders(dataSource: DataSource) {
  const images = dataSource.getRepository(Image);
  const { byId: imageById, byName: imageByName } = lookupLoaders(images);
  const imagesByGroupId = new DataLoader<string, Image[]>(async (groupIds) => {
    const links = await dataSource
      .getRepository(ImageGroupLink)
      .createQueryBuilder('link')
      .innerJoinAndSelect('link.image', 'image')
      .where('link.groupId IN (:...groupIds)', { groupIds: [...groupIds] })
      .orderBy('image.name', 'ASC')
      .getMany();
    return manyByKey(groupIds, links, (l) => l.groupId).map((list) => list.map((l) => l.image as Image));
  });
  const imagesByPullSecretId = new DataLoader<string, Image[]>(async (secretIds) => {
    const rows = await images.find({ where: { pullSecretId: In([...secretIds]) }, order: { name: 'ASC' } });
    return manyByKey(secretIds, rows, (i) => i.pullSecretId as string);
  });
  return { imageById, imageByName, imagesByGroupId, imagesByPullSecretId };
}

export type ImageLoaders = ReturnType<typeof createImageLoaders>;
