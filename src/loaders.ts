import { DataSource } from 'typeorm';
import { createGroupLoaders } from './groups/group.loaders';
import { createImageLoaders } from './images/image.loaders';
import { createPullSecretLoaders } from './pull-secrets/image-pull-secret.loaders';

/** One fresh set per request: a cache never outlives the request that filled it. */
export function createLoaders(dataSource: DataSource) {
  return {
    ...createImageLoaders(dataSource),
    ...createGroupLoaders(dataSource),
    ...createPullSecretLoaders(dataSource),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
