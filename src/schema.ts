import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { GraphQLSchema, parse } from 'graphql';
import { applyFieldRules } from './auth/access-policy';
import { checkEntityRepresentations } from './graphql/entity-representations';
import { resolvers } from './resolvers';

/** schema/ sits beside src/ and dist/ alike. */
export const SCHEMA_DIR = join(__dirname, '..', 'schema');

export function loadTypeDefs(dir = SCHEMA_DIR): string {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => readFileSync(join(dir, file), 'utf8'))
    .join('\n');
}

export function buildSchema(): GraphQLSchema {
  // The generated Resolvers type is stricter than the subgraph helper's map; the shapes agree.
  const schema = buildSubgraphSchema([{ typeDefs: parse(loadTypeDefs()), resolvers: resolvers as GraphQLResolverMap<unknown> }]);
  return checkEntityRepresentations(applyFieldRules(schema));
}
