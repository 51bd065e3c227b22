import { DataSource } from 'typeorm';
import { lookupLoaders } from '../db/loader-helpers';
import { ImagePullSecret } from './image-pull-secret.entity';

export function createPullSecretLoaders(dataSource: DataSource) {
  const { byId: pullSecretById, byName: pullSecretByName } = lookupLoaders(dataSource.getRepository(ImagePullSecret));
  return { pullSecretById, pullSecretByName };
}

export type PullSecretLoaders = ReturnType<typeof createPullSecretLoaders>;
