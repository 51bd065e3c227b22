import { resolveReference } from '../common/lookup';
import { validateInput } from '../common/validation';
import type { Resolvers } from '../generated/graphql';
import { CreateGroupInput, UpdateGroupInput } from './group.inputs';

export const groupResolvers: Resolvers = {
  Query: {
    group: (_, args, { services }) => services.groups.find(args),
    groups: (_, { filter, orderBy, ...page }, { services }) => services.groups.list(filter, orderBy, page),
  },
  Mutation: {
    createGroup: async (_, { input }, { services }) => services.groups.create(await validateInput(CreateGroupInput, input)),
    updateGroup: async (_, { id, input }, { services }) => services.groups.update(id, await validateInput(UpdateGroupInput, input)),
    deleteGroup: (_, { id }, { services }) => services.groups.delete(id),
  },
  Group: {
    __resolveReference: (reference, { loaders }) => resolveReference(reference, { byId: loaders.groupById, byName: loaders.groupByName }),
    images: (group, _, { loaders }) => loaders.imagesByGroupId.load(group.id),
    sharedPullSecrets: (group, _, { loaders }) => loaders.pullSecretsSharedWithGroupId.load(group.id),
  },
};
