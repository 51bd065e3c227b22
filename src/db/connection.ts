/** What a list query returns before GraphQL renders it as an XConnection. */
export interface Edge<T> {
  cursor: string;
  node: T;
}

/** The flags that need another statement are functions, so they run only when a client asks. */
export interface PageInfo {
  hasNextPage: () => Promise<boolean>;
  hasPreviousPage: () => Promise<boolean>;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Connection<T> {
  edges: Edge<T>[];
  nodes: T[];
  pageInfo: PageInfo;
  totalCount: () => Promise<number>;
}
