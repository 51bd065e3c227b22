import type { ApolloServerPlugin } from '@apollo/server';
import {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  getVariableValues,
  GraphQLCompositeType,
  GraphQLSchema,
  InlineFragmentNode,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  OperationDefinitionNode,
  SelectionSetNode,
  ValueNode,
} from 'graphql';
import { queryLimitError } from './query-limits';

/** What a page holds when `first`/`last` are not given, as the list resolvers do. */
export const DEFAULT_PAGE_SIZE = 20;
/**
 * What a list without paging arguments is assumed to hold, since its true size is unknown
 * before the query runs: an image is linked to a few groups, a group or a pull secret serves
 * many images. Any other list counts as a default page.
 */
export const UNPAGED_LIST_ESTIMATES: Record<string, number> = {
  'Image.groups': 10,
  'Group.images': 50,
  'ImagePullSecret.images': 50,
  'Query.launchableImages': 100,
  'ImageReferenceAvailability.platforms': 8,
};

type Variables = Record<string, unknown> | undefined;

interface Walk {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Variables;
  /** Each fragment's cost per object it applies to, by name and page size: spreads reuse it. */
  fragmentCosts: Map<string, number>;
}

/**
 * The most objects an operation can return: every object-typed field counts once per parent
 * it may appear under, so lists multiply. A connection's `nodes` and `edges` hold `first` or
 * `last` items (default 20), `_entities` as many as its representations, other lists their
 * estimate below.
 * Scalars are free (aliases and depth have their own limits). Fragments on several types
 * are all counted, which overestimates and never under. The walk takes time linear in the
 * document: a fragment's cost is computed once however often it is spread (fragments spreading
 * one another twice over would otherwise take exponential time).
 */
export function queryCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Variables): number {
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  return selectionCost({ schema, fragments, variables, fragmentCosts: new Map() }, operation.selectionSet, root, undefined);
}

/** The cost of a selection set for one parent object; a list of n parents costs n times as much. */
function selectionCost(walk: Walk, selectionSet: SelectionSetNode, parent: GraphQLCompositeType, pageSize: number | undefined): number {
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      cost += fieldCost(walk, selection, parent, pageSize);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      cost += fragmentCost(walk, selection, parent, pageSize);
    } else {
      const key = `${selection.name.value}:${pageSize}`;
      let known = walk.fragmentCosts.get(key);
      if (known === undefined) {
        const fragment = walk.fragments[selection.name.value];
        known = fragment ? fragmentCost(walk, fragment, parent, pageSize) : 0;
        walk.fragmentCosts.set(key, known);
      }
      cost += known;
    }
  }
  return cost;
}

function fragmentCost(walk: Walk, fragment: InlineFragmentNode | FragmentDefinitionNode, parent: GraphQLCompositeType, pageSize: number | undefined): number {
  const condition = fragment.typeCondition ? walk.schema.getType(fragment.typeCondition.name.value) : parent;
  return condition && isCompositeType(condition) ? selectionCost(walk, fragment.selectionSet, condition, pageSize) : 0;
}

function fieldCost(walk: Walk, field: FieldNode, parent: GraphQLCompositeType, pageSize: number | undefined): number {
  const name = field.name.value;
  // Introspection answers from the fixed schema; its size does not grow with the data.
  if (name.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) return 0;
  const definition = parent.getFields()[name];
  if (!definition || !field.selectionSet) return 0;
  const type = getNamedType(definition.type);
  if (!isCompositeType(type)) return 0;
  const count = isListType(getNullableType(definition.type)) ? listSize(walk, field, `${parent.name}.${name}`, pageSize) : 1;
  const childPageSize = definition.args.some((arg) => arg.name === 'first') ? pageArgument(walk, field) : undefined;
  return count + count * selectionCost(walk, field.selectionSet, type, childPageSize);
}

function listSize(walk: Walk, field: FieldNode, coordinate: string, pageSize: number | undefined): number {
  const name = field.name.value;
  if ((name === 'nodes' || name === 'edges') && pageSize !== undefined) return pageSize;
  if (name === '_entities') {
    const representations = argumentValue(walk, field, 'representations');
    if (Array.isArray(representations)) return representations.length;
  }
  return UNPAGED_LIST_ESTIMATES[coordinate] ?? DEFAULT_PAGE_SIZE;
}

function pageArgument(walk: Walk, field: FieldNode): number {
  const first = argumentValue(walk, field, 'first');
  const last = argumentValue(walk, field, 'last');
  const size = [first, last].find((value): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0);
  return size ?? DEFAULT_PAGE_SIZE;
}

function argumentValue(walk: Walk, field: FieldNode, name: string): unknown {
  const argument = field.arguments?.find((arg) => arg.name.value === name);
  return argument ? literal(argument.value, walk.variables) : undefined;
}

/** A literal's value, variables filled in; only numbers and list lengths matter here. */
function literal(node: ValueNode, variables: Variables): unknown {
  switch (node.kind) {
    case Kind.VARIABLE:
      return variables?.[node.name.value];
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.LIST:
      return node.values;
    default:
      return undefined;
  }
}

/**
 * Rejects an operation whose cost is over `maxCost` once Apollo has resolved it, when the
 * variables (`first: $n`, `representations: $r`) are known and nothing has run yet.
 */
export function queryCostPlugin<T extends object>(maxCost: number): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          // Variables as execution will see them, defaults (`$n: Int = 100`) included; ill-typed
          // ones are refused before anything runs anyway.
          const variables = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
          if (variables.errors) return;
          const cost = Math.min(queryCost(schema, document, operation, variables.coerced), Number.MAX_SAFE_INTEGER);
          if (cost > maxCost) {
            throw queryLimitError('maxCost', maxCost, cost, `the query may return up to ${cost} objects; ask for smaller pages (first/last) or fewer nested lists`);
          }
        },
      };
    },
  };
}
