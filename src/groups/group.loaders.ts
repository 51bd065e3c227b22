import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { lookupLoaders, manyByKey, scoped } from '../db/loader-helpers';
import { ImageGroupLink } from '../images/image-group-link.entity';
import { Group } from './group.entity';

export function createGroupLoaders(dataSource: DataSource, access: AccessPolicy) {
  const { byId: groupById, byName: groupByName } = lookupLoaders(dataSource.getRepository(Group), (alias) => access.visibleGroups(alias));
  const groupsByImageId = new DataLoader<string, Group[]>(async (imageIds) => {
    const qb = dataSource
      .getRepository(ImageGroupLink)
      .createQueryBuilder('link')
      .innerJoinAndSelect('link.group', 'grp')
      .where('link.imageId IN (:...imageIds)', { imageIds: [...imageIds] });
    const links = await scoped(qb, access.visibleGroupId('link.groupId')).orderBy('grp.name', 'ASC').getMany();
    return manyByKey(imageIds, links, (l) => l.imageId).map((list) => list.map((l) => l.group as Group));
  });
  return { groupById, groupByName, groupsByImageId };
}

export type GroupLoaders = ReturnType<typeof createGroupLoaders>;
