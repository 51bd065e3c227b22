import type { Connection, PageInfo } from '../db/connection';

/** Shared by every XConnection type: the count runs only when a client selects it. */
export const connectionFields = {
  totalCount: <T>(connection: Connection<T>) => connection.totalCount(),
};

export const pageInfoResolvers = {
  hasNextPage: (pageInfo: PageInfo) => pageInfo.hasNextPage(),
  hasPreviousPage: (pageInfo: PageInfo) => pageInfo.hasPreviousPage(),
};
