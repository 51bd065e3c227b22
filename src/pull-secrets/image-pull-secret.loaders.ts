import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { entityRows } from '../db/entity-rows';
import { lookupLoaders, manyByKey, scoped } from '../db/loader-helpers';
import { ImagePullSecret } from './image-pull-secret.entity';
import { PullSecretShare } from './pull-secret-share.entity';

export function createPullSecretLoaders(dataSource: DataSource, access: AccessPolicy) {
  const secrets = dataSource.getRepository(ImagePullSecret);
  const { byId: pullSecretById, byName: pullSecretByName } = lookupLoaders(secrets, (alias) => access.visiblePullSecrets(alias));
  // Admins see every group's shares, group admins their own groups', anyone else none.
  const pullSecretsSharedWithGroupId = new DataLoader<string, ImagePullSecret[]>(async (groupIds) => {
    const qb = secrets
      .createQueryBuilder('secret')
      .innerJoin(PullSecretShare, 'share', 'share.pullSecretId = secret.id')
      .addSelect('share.groupId', 'share_groupId')
      .where('share.groupId IN (:...groupIds)', { groupIds: [...groupIds] });
    const rows = await entityRows(scoped(qb, access.administeredGroupId('share.groupId')).orderBy('secret.name', 'ASC'));
    return manyByKey(groupIds, rows, (row) => row.raw.share_groupId as string).map((list) => list.map((row) => row.entity));
  });
  return { pullSecretById, pullSecretByName, pullSecretsSharedWithGroupId };
}

export type PullSecretLoaders = ReturnType<typeof createPullSecretLoaders>;
