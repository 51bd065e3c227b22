import { GraphQLFieldResolver, GraphQLSchema, isUnionType } from 'graphql';
import { badUserInput, FieldError } from '../errors';

/**
 * Checks `_entities(representations:)` before @apollo/subgraph resolves them: a representation
 * must be an object whose `__typename` is one of our entity types. Otherwise the library fails
 * with a masked internal error, or, for a type that exists but is no entity, with graphql-js's
 * message naming it: a way to probe type names with introspection off.
 */
export function checkEntityRepresentations(schema: GraphQLSchema): GraphQLSchema {
  const entityUnion = schema.getType('_Entity');
  const field = schema.getQueryType()?.getFields()._entities;
  if (!field?.resolve || !isUnionType(entityUnion)) return schema;
  const entityTypes = new Set(entityUnion.getTypes().map((type) => type.name));
  const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve;
  field.resolve = (source, args: { representations?: unknown }, context, info) => {
    const representations = Array.isArray(args.representations) ? args.representations : [];
    const problems: FieldError[] = [];
    representations.forEach((representation: unknown, index) => {
      const typename = typeof representation === 'object' && representation !== null ? (representation as { __typename?: unknown }).__typename : undefined;
      if (typeof typename !== 'string' || !entityTypes.has(typename)) {
        problems.push({ field: `representations[${index}].__typename`, message: `must be one of ${[...entityTypes].join(', ')}` });
      }
    });
    if (problems.length > 0) throw badUserInput(problems.slice(0, 10));
    return resolve(source, args, context, info);
  };
  return schema;
}
