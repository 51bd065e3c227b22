import { DataSource } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { linkedLoader, lookupLoaders } from '../db/loader-helpers';
import { ImagePullSecret } from './image-pull-secret.entity';
import { PullSecretShare } from './pull-secret-share.entity';

export function createPullSecretLoaders(dataSource: DataSource, access: AccessPolicy) {
  const secrets = dataSource.getRepository(ImagePullSecret);
  const { byId: pullSecretById, byName: pullSecretByName } = lookupLoaders(secrets, (alias) => access.visiblePullSecrets(alias));
  // Admins see every group's shares, group admins their own groups', anyone else none.
  const pullSecretsSharedWithGroupId = linkedLoader(
    secrets,
    'secret',
    { link: PullSecretShare, as: 'share', on: 'share.pullSecretId = secret.id', key: 'groupId' },
    [access.administeredGroupId('share.groupId')],
    'secret.name',
  );
  return { pullSecretById, pullSecretByName, pullSecretsSharedWithGroupId };
}

export type PullSecretLoaders = ReturnType<typeof createPullSecretLoaders>;
