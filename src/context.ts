import { DataSource } from 'typeorm';
import { AuditService } from './audit/audit.service';
import { AccessPolicy } from './auth/access-policy';
import type { Caller } from './auth/caller';
import { GroupService } from './groups/group.service';
import { ImageService } from './images/image.service';
import { createLoaders, Loaders } from './loaders';
import type { Observation } from './observability/request-observer';
import { ImagePullSecretService } from './pull-secrets/image-pull-secret.service';
import type { PasswordCipher } from './pull-secrets/password-cipher';
import type { AvailabilityChecker } from './images/availability-checker';

export interface Context {
  access: AccessPolicy;
  observation: Observation;
  loaders: Loaders;
  /** Registry checks (one per process); `enabled` is false with REGISTRY_CHECKS=off. */
  checker: AvailabilityChecker;
  services: {
    images: ImageService;
    groups: GroupService;
    pullSecrets: ImagePullSecretService;
    audit: AuditService;
  };
}

/** A new context per request: the caller's access, its loaders' caches and the services that clear them. */
export function createContext(dataSource: DataSource, caller: Caller, cipher: PasswordCipher, observation: Observation, checker: AvailabilityChecker): Context {
  const access = new AccessPolicy(caller);
  const loaders = createLoaders(dataSource, access);
  observation.sub = caller.sub;
  return {
    access,
    observation,
    loaders,
    checker,
    services: {
      images: new ImageService(dataSource, loaders, access, checker),
      groups: new GroupService(dataSource, loaders, access),
      pullSecrets: new ImagePullSecretService(dataSource, loaders, access, cipher, checker),
      audit: new AuditService(dataSource),
    },
  };
}
