import type { Resolvers } from '../generated/graphql';

export const auditResolvers: Resolvers = {
  Query: {
    auditEvents: (_, { filter, ...page }, { services }) => services.audit.list(filter, page),
  },
};
