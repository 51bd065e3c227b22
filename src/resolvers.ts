import { connectionFields, pageInfoResolvers } from './common/connection.resolvers';
import { DateTimeScalar } from './common/date-time.scalar';
import { JsonScalar } from './common/json.scalar';
import { auditResolvers } from './audit/audit.resolvers';
import type { Resolvers } from './generated/graphql';
import { groupResolvers } from './groups/group.resolvers';
import { imageResolvers } from './images/image.resolvers';
import { pullSecretResolvers } from './pull-secrets/image-pull-secret.resolvers';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  JSON: JsonScalar,
  Query: { ...imageResolvers.Query, ...groupResolvers.Query, ...pullSecretResolvers.Query, ...auditResolvers.Query },
  Mutation: { ...imageResolvers.Mutation, ...groupResolvers.Mutation, ...pullSecretResolvers.Mutation },
  Image: imageResolvers.Image,
  Group: groupResolvers.Group,
  ImagePullSecret: pullSecretResolvers.ImagePullSecret,
  ImageConnection: connectionFields,
  GroupConnection: connectionFields,
  ImagePullSecretConnection: connectionFields,
  AuditEventConnection: connectionFields,
  PageInfo: pageInfoResolvers,
};
