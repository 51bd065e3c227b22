import { DataSource } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { linkedLoader, lookupLoaders } from '../db/loader-helpers';
import { ImageGroupLink } from '../images/image-group-link.entity';
import { PullSecretShare } from '../pull-secrets/pull-secret-share.entity';
import { Group } from './group.entity';

/** The columns of a group summary. */
const GROUP_SUMMARY_FIELDS: (keyof Group & string)[] = ['id', 'name', 'displayName'];
/** What a group summary answers (`__typename` costs no column). */
export const GROUP_SUMMARY_SELECTION: ReadonlySet<string> = new Set([...GROUP_SUMMARY_FIELDS, '__typename']);

export function createGroupLoaders(dataSource: DataSource, access: AccessPolicy) {
  const { byId: groupById, byName: groupByName } = lookupLoaders(dataSource.getRepository(Group), (alias) => access.visibleGroups(alias));
  const groups = dataSource.getRepository(Group);
  const imageLinks = { link: ImageGroupLink, as: 'link', on: 'link.groupId = grp.id', key: 'imageId' };
  const groupsByImageId = linkedLoader(groups, 'grp', imageLinks, [access.visibleGroupId('link.groupId')], 'grp.nameKey');
  // `Image.groups { id name displayName }`, the common shape of a list: three columns, not all.
  const groupSummariesByImageId = linkedLoader(groups, 'grp', imageLinks, [access.visibleGroupId('link.groupId')], 'grp.nameKey', GROUP_SUMMARY_FIELDS);
  const groupsSharingPullSecretId = linkedLoader(groups, 'grp', { link: PullSecretShare, as: 'share', on: 'share.groupId = grp.id', key: 'pullSecretId' }, [access.visibleGroups('grp')], 'grp.nameKey');
  return { groupById, groupByName, groupsByImageId, groupSummariesByImageId, groupsSharingPullSecretId };
}

export type GroupLoaders = ReturnType<typeof createGroupLoaders>;
