import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import { DocumentNode, ExecutionResult, GraphQLError, GraphQLSchema, getVariableValues } from 'graphql';
import { CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';

/** How operations are executed: graphql-jit compiled functions, or graphql-js's interpreter. */
export const EXECUTION_ENGINES = ['jit', 'graphql-js'] as const;
export type ExecutionEngine = (typeof EXECUTION_ENGINES)[number];

type Compiled = CompiledQuery | ExecutionResult;
/** Apollo's gateway types, reached through @apollo/server rather than its own dependency. */
type GatewayInterface = ApolloServerOptionsWithGateway<object>['gateway'];
type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;

/**
 * An executor that runs each operation as a function graphql-jit compiled from it. Apollo parses
 * and validates as always (limits, cost and introspection rules included) and hands us the
 * validated document; Apollo's document cache keeps that same DocumentNode for the same query
 * text, so compiled functions are cached per document object and go when Apollo evicts it.
 */
export function jitExecutor(schema: GraphQLSchema): GatewayExecutor {
  const compiledByDocument = new WeakMap<DocumentNode, Map<string, Compiled>>();
  const compile = (document: DocumentNode, operationName: string | null): Compiled => {
    let byOperation = compiledByDocument.get(document);
    if (!byOperation) compiledByDocument.set(document, (byOperation = new Map()));
    const key = operationName ?? '';
    let compiled = byOperation.get(key);
    if (!compiled) byOperation.set(key, (compiled = compileQuery(schema, document, operationName ?? undefined)));
    return compiled;
  };
  return async ({ document, operation, operationName, request, context }) => {
    // graphql-js coerces the variables first so a bad one gets the very error (message, node,
    // shape) the interpreter gives, which Apollo and the error formatter recognise; the compiled
    // function coerces them again, cheaply, for its own use.
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {}, { maxErrors: 50 });
    if (coerced.errors) return { errors: coerced.errors };
    const compiled = compile(document, operationName);
    if (!isCompiledQuery(compiled)) return compiled;
    const result = await compiled.query(undefined, context, request.variables ?? {});
    return result.errors ? { ...result, errors: result.errors.map(asGraphQLJsError) } : result;
  };
}

/**
 * graphql-jit's errors pass `instanceof GraphQLError` but leave `extensions` undefined when the
 * thrown error had none (a driver's error, a bug), and Apollo reads `extensions.code` before our
 * formatter runs: it would throw there and answer a bare "Internal server error" with nothing
 * logged. Rebuilt as graphql-js builds them, with the same message, path, locations and cause.
 */
function asGraphQLJsError(error: GraphQLError): GraphQLError {
  const rebuilt = new GraphQLError(error.message, { path: error.path, originalError: error.originalError ?? undefined, extensions: error.extensions });
  // graphql-js derives locations from AST nodes, which graphql-jit no longer has; its own are right.
  (rebuilt as { locations?: GraphQLError['locations'] }).locations = error.locations;
  return rebuilt;
}

/**
 * Apollo Server takes a custom executor only through its gateway interface: a "gateway" that
 * serves our own schema, loaded once, and never changes it.
 */
export function jitGateway(schema: GraphQLSchema): GatewayInterface {
  return {
    async load() {
      return { executor: jitExecutor(schema) };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    async stop() {},
  };
}
