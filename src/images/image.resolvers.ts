import { resolveReference } from '../common/lookup';
import { selectedFieldNames, selectsField, selectsOnly } from '../common/selection';
import { GROUP_SUMMARY_SELECTION } from '../groups/group.loaders';
import { PULL_SECRET_SUMMARY_SELECTION } from '../pull-secrets/image-pull-secret.loaders';
import { validateInput } from '../common/validation';
import type { Resolvers } from '../generated/graphql';
import { CreateImageInput, SetImageGroupsInput, UpdateImageInput } from './image.inputs';
import { urlFor } from './image.rules';
import { availabilityFor, availabilityOf } from './image-availability';
import { attachedSecret } from './image-projection';
import type { ImagePullSecret as ImagePullSecretEntity } from '../pull-secrets/image-pull-secret.entity';

export const imageResolvers: Resolvers = {
  Query: {
    image: (_, args, { services }) => services.images.find(args),
    images: (_, { filter, orderBy, ...page }, { services }, info) =>
      services.images.list(filter, orderBy, page, selectsField(info, 'totalCount'), union(selectedFieldNames(info, ['nodes']), selectedFieldNames(info, ['edges', 'node']))),
    launchableImages: (_, { groupId, gpu, onlyAvailable, includeDisabled }, { services }, info) =>
      services.images.launchable(groupId, gpu, {
        onlyAvailable: onlyAvailable ?? false,
        includeDisabled: includeDisabled ?? false,
        selection: { image: selectedFieldNames(info), pullSecret: selectedFieldNames(info, ['pullSecret']) },
      }),
  },
  Mutation: {
    createImage: async (_, { input }, { services }) => services.images.create(await validateInput(CreateImageInput, input)),
    updateImage: async (_, { id, input }, { services }) => services.images.update(id, await validateInput(UpdateImageInput, input)),
    deleteImage: (_, { id }, { services }) => services.images.delete(id),
    setImageGroups: async (_, { imageId, groupIds }, { services }) =>
      services.images.setGroups(imageId, (await validateInput(SetImageGroupsInput, { groupIds })).groupIds),
    checkImage: (_, { id }, { services }) => services.images.check(id),
  },
  Image: {
    __resolveReference: (reference, { loaders }) => resolveReference(reference, { byId: loaders.imageById, byName: loaders.imageByName }),
    urlFor: (image, { gpu }) => urlFor(image, gpu),
    groups: (image, _, { loaders }, info) => (selectsOnly(info, GROUP_SUMMARY_SELECTION) ? loaders.groupSummariesByImageId : loaders.groupsByImageId).load(image.id),
    pullSecret: (image, _, { loaders }, info) => {
      const joined = attachedSecret(image);
      if (joined !== undefined) return joined as ImagePullSecretEntity;
      if (!image.pullSecretId) return null;
      return (selectsOnly(info, PULL_SECRET_SUMMARY_SELECTION) ? loaders.pullSecretSummaryById : loaders.pullSecretById).load(image.pullSecretId);
    },
    ownerGroup: (image, _, { loaders }) => (image.ownerGroupId ? loaders.groupById.load(image.ownerGroupId) : null),
    availability: async (image, _, { loaders, checker }) => availabilityOf(image, await loaders.availabilityByImageId.load(image.id), checker.enabled),
    availabilityFor: async (image, { gpu }, { loaders, checker }) =>
      availabilityFor(availabilityOf(image, await loaders.availabilityByImageId.load(image.id), checker.enabled), image, gpu),
  },
};

function union(a: Set<string> | undefined, b: Set<string> | undefined): Set<string> | undefined {
  return a && b ? new Set([...a, ...b]) : (a ?? b);
}
