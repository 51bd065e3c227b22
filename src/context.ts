import { DataSource } from 'typeorm';
import { GroupService } from './groups/group.service';
import { ImageService } from './images/image.service';
import { createLoaders, Loaders } from './loaders';
import { ImagePullSecretService } from './pull-secrets/image-pull-secret.service';

export interface Context {
  loaders: Loaders;
  services: {
    images: ImageService;
    groups: GroupService;
    pullSecrets: ImagePullSecretService;
  };
}

/** A new context per request: its loaders' caches and the services that clear them. */
export function createContext(dataSource: DataSource): Context {
  const loaders = createLoaders(dataSource);
  return {
    loaders,
    services: {
      images: new ImageService(dataSource, loaders),
      groups: new GroupService(dataSource, loaders),
      pullSecrets: new ImagePullSecretService(dataSource, loaders),
    },
  };
}
