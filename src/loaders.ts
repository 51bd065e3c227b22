import type { AccessPolicy } from './auth/access-policy';
import { DataSource } from 'typeorm';
import { createGroupLoaders } from './groups/group.loaders';
import { createImageLoaders } from './images/image.loaders';
import { createPullSecretLoaders } from './pull-secrets/image-pull-secret.loaders';

/**
 * One fresh set per request: a cache never outlives the request that filled it, and never holds
 * what another caller could see.
 */
export function createLoaders(dataSource: DataSource, access: AccessPolicy) {
  return {
    ...createImageLoaders(dataSource, access),
    ...createGroupLoaders(dataSource, access),
    ...createPullSecretLoaders(dataSource, access),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
