import DataLoader from 'dataloader';
import { DataSource, In } from 'typeorm';
import { nameKey, oneByKey } from '../db/loader-helpers';
import { ImagePullSecret } from './image-pull-secret.entity';

export function createPullSecretLoaders(dataSource: DataSource) {
  const secrets = dataSource.getRepository(ImagePullSecret);
  const pullSecretById: DataLoader<string, ImagePullSecret | null> = new DataLoader(async (ids) =>
    oneByKey(ids, await secrets.findBy({ id: In([...ids]) }), (s) => s.id),
  );
  const pullSecretByName: DataLoader<string, ImagePullSecret | null> = new DataLoader(
    async (names) => oneByKey(names, await secrets.findBy({ name: In([...names]) }), (s) => nameKey(s.name)),
    { cacheKeyFn: nameKey },
  );
  return { pullSecretById, pullSecretByName };
}

export type PullSecretLoaders = ReturnType<typeof createPullSecretLoaders>;
