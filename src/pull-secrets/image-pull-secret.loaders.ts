import { DataSource } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { lookupLoaders } from '../db/loader-helpers';
import { ImagePullSecret } from './image-pull-secret.entity';

export function createPullSecretLoaders(dataSource: DataSource, access: AccessPolicy) {
  const secrets = dataSource.getRepository(ImagePullSecret);
  const { byId: pullSecretById, byName: pullSecretByName } = lookupLoaders(secrets, (alias) => access.visiblePullSecrets(alias));
  return { pullSecretById, pullSecretByName };
}

export type PullSecretLoaders = ReturnType<typeof createPullSecretLoaders>;
