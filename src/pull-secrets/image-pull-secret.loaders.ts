import { DataSource } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { linkedLoader, lookupLoaders } from '../db/loader-helpers';
import { ImagePullSecret } from './image-pull-secret.entity';
import { PullSecretShare } from './pull-secret-share.entity';

/** What a pull-secret summary answers (`__typename` costs no column). */
export const PULL_SECRET_SUMMARY_SELECTION: ReadonlySet<string> = new Set(['id', 'name', '__typename']);

export function createPullSecretLoaders(dataSource: DataSource, access: AccessPolicy) {
  const secrets = dataSource.getRepository(ImagePullSecret);
  const { byId: pullSecretById, byName: pullSecretByName } = lookupLoaders(secrets, (alias) => access.visiblePullSecrets(alias));
  // `pullSecret { id name }`, as lists and the launcher ask for it: two columns, not the credentials.
  const pullSecretSummaryById = lookupLoaders(secrets, (alias) => access.visiblePullSecrets(alias), ['id', 'name']).byId;
  // Admins see every group's shares, group admins their own groups', anyone else none.
  const pullSecretsSharedWithGroupId = linkedLoader(
    secrets,
    'secret',
    { link: PullSecretShare, as: 'share', on: 'share.pullSecretId = secret.id', key: 'groupId' },
    [access.administeredGroupId('share.groupId')],
    'secret.name',
  );
  return { pullSecretById, pullSecretByName, pullSecretSummaryById, pullSecretsSharedWithGroupId };
}

export type PullSecretLoaders = ReturnType<typeof createPullSecretLoaders>;
