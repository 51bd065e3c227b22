import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { lookupLoaders, manyByKey } from '../db/loader-helpers';
import { ImageGroupLink } from '../images/image-group-link.entity';
import { Group } from './group.entity';

export function createGroupLoaders(dataSource: DataSource) {
  const { byId: groupById, byName: groupByName } = lookupLoaders(dataSource.getRepository(Group));
  const groupsByImageId = new DataLoader<string, Group[]>(async (imageIds) => {
    const links = await dataSource
      .getRepository(ImageGroupLink)
      .createQueryBuilder('link')
      .innerJoinAndSelect('link.group', 'grp')
      .where('link.imageId IN (:...imageIds)', { imageIds: [...imageIds] })
      .orderBy('grp.name', 'ASC')
      .getMany();
    return manyByKey(imageIds, links, (l) => l.imageId).map((list) => list.map((l) => l.group as Group));
  });
  return { groupById, groupByName, groupsByImageId };
}

export type GroupLoaders = ReturnType<typeof createGroupLoaders>;
