import { resolveReference } from '../common/lookup';
import { validateInput } from '../common/validation';
import type { Resolvers } from '../generated/graphql';
import { CreateImagePullSecretInput, SetPullSecretGroupsInput, UpdateImagePullSecretInput } from './image-pull-secret.inputs';

export const pullSecretResolvers: Resolvers = {
  Query: {
    imagePullSecret: (_, args, { services }) => services.pullSecrets.find(args),
    imagePullSecrets: (_, { filter, orderBy, ...page }, { services }) => services.pullSecrets.list(filter, orderBy, page),
    dockerConfigJson: (_, { id }, { services }) => services.pullSecrets.dockerConfigJson(id),
  },
  Mutation: {
    createImagePullSecret: async (_, { input }, { services }) =>
      services.pullSecrets.create(await validateInput(CreateImagePullSecretInput, input)),
    updateImagePullSecret: async (_, { id, input }, { services }) =>
      services.pullSecrets.update(id, await validateInput(UpdateImagePullSecretInput, input)),
    deleteImagePullSecret: (_, { id, detach }, { services }) => services.pullSecrets.delete(id, detach ?? false),
    checkImagePullSecret: (_, { id }, { services }) => services.pullSecrets.check(id),
    setImagePullSecretGroups: async (_, { pullSecretId, groupIds }, { services }) =>
      services.pullSecrets.setGroups(pullSecretId, (await validateInput(SetPullSecretGroupsInput, { groupIds })).groupIds),
  },
  ImagePullSecret: {
    __resolveReference: (reference, { loaders }) => resolveReference(reference, { byId: loaders.pullSecretById, byName: loaders.pullSecretByName }),
    images: (secret, _, { loaders }) => loaders.imagesByPullSecretId.load(secret.id),
    groups: (secret, _, { loaders }) => loaders.groupsSharingPullSecretId.load(secret.id),
  },
};
