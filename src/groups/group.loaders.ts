import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { entityRows } from '../db/entity-rows';
import { lookupLoaders, manyByKey, scoped } from '../db/loader-helpers';
import { ImageGroupLink } from '../images/image-group-link.entity';
import { PullSecretShare } from '../pull-secrets/pull-secret-share.entity';
import { Group } from './group.entity';

export function createGroupLoaders(dataSource: DataSource, access: AccessPolicy) {
  const { byId: groupById, byName: groupByName } = lookupLoaders(dataSource.getRepository(Group), (alias) => access.visibleGroups(alias));
  const groupsByImageId = new DataLoader<string, Group[]>(async (imageIds) => {
    const qb = dataSource
      .getRepository(Group)
      .createQueryBuilder('grp')
      .innerJoin(ImageGroupLink, 'link', 'link.groupId = grp.id')
      .addSelect('link.imageId', 'link_imageId')
      .where('link.imageId IN (:...imageIds)', { imageIds: [...imageIds] });
    const rows = await entityRows(scoped(qb, access.visibleGroupId('link.groupId')).orderBy('grp.nameKey', 'ASC'));
    return manyByKey(imageIds, rows, (row) => row.raw.link_imageId as string).map((list) => list.map((row) => row.entity));
  });
  const groupsSharingPullSecretId = new DataLoader<string, Group[]>(async (secretIds) => {
    const qb = dataSource
      .getRepository(Group)
      .createQueryBuilder('grp')
      .innerJoin(PullSecretShare, 'share', 'share.groupId = grp.id')
      .addSelect('share.pullSecretId', 'share_pullSecretId')
      .where('share.pullSecretId IN (:...secretIds)', { secretIds: [...secretIds] });
    const rows = await entityRows(scoped(qb, access.visibleGroups('grp')).orderBy('grp.nameKey', 'ASC'));
    return manyByKey(secretIds, rows, (row) => row.raw.share_pullSecretId as string).map((list) => list.map((row) => row.entity));
  });
  return { groupById, groupByName, groupsByImageId, groupsSharingPullSecretId };
}

export type GroupLoaders = ReturnType<typeof createGroupLoaders>;
