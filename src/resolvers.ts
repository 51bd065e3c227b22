import { connectionFields, pageInfoResolvers } from './common/connection.resolvers';
import { DateTimeScalar } from './common/date-time.scalar';
import type { Resolvers } from './generated/graphql';
import { groupResolvers } from './groups/group.resolvers';
import { imageResolvers } from './images/image.resolvers';
import { pullSecretResolvers } from './pull-secrets/image-pull-secret.resolvers';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: { ...imageResolvers.Query, ...groupResolvers.Query, ...pullSecretResolvers.Query },
  Mutation: { ...imageResolvers.Mutation, ...groupResolvers.Mutation, ...pullSecretResolvers.Mutation },
  Image: imageResolvers.Image,
  Group: groupResolvers.Group,
  ImagePullSecret: pullSecretResolvers.ImagePullSecret,
  ImageConnection: connectionFields,
  GroupConnection: connectionFields,
  ImagePullSecretConnection: connectionFields,
  PageInfo: pageInfoResolvers,
};
