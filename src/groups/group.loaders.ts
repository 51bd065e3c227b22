import { DataSource } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { linkedLoader, lookupLoaders } from '../db/loader-helpers';
import { ImageGroupLink } from '../images/image-group-link.entity';
import { PullSecretShare } from '../pull-secrets/pull-secret-share.entity';
import { Group } from './group.entity';

export function createGroupLoaders(dataSource: DataSource, access: AccessPolicy) {
  const { byId: groupById, byName: groupByName } = lookupLoaders(dataSource.getRepository(Group), (alias) => access.visibleGroups(alias));
  const groups = dataSource.getRepository(Group);
  const groupsByImageId = linkedLoader(groups, 'grp', { link: ImageGroupLink, as: 'link', on: 'link.groupId = grp.id', key: 'imageId' }, [access.visibleGroupId('link.groupId')], 'grp.nameKey');
  const groupsSharingPullSecretId = linkedLoader(groups, 'grp', { link: PullSecretShare, as: 'share', on: 'share.groupId = grp.id', key: 'pullSecretId' }, [access.visibleGroups('grp')], 'grp.nameKey');
  return { groupById, groupByName, groupsByImageId, groupsSharingPullSecretId };
}

export type GroupLoaders = ReturnType<typeof createGroupLoaders>;
