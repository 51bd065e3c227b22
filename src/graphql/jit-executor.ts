import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import { DocumentNode, ExecutionResult, execute, GraphQLError, GraphQLSchema, getVariableValues } from 'graphql';
import { CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';

/** How operations are executed: graphql-jit compiled functions, or graphql-js's interpreter. */
export const EXECUTION_ENGINES = ['jit', 'graphql-js'] as const;
export type ExecutionEngine = (typeof EXECUTION_ENGINES)[number];

/** Apollo's gateway types, reached through @apollo/server rather than its own dependency. */
type GatewayInterface = ApolloServerOptionsWithGateway<object>['gateway'];
type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;

/** A document run once so far: the next run compiles it. */
const SEEN_ONCE = Symbol('seen once');
type Plan = CompiledQuery | ExecutionResult | typeof SEEN_ONCE;

/**
 * An executor that runs each operation as a function graphql-jit compiled from it. Apollo parses
 * and validates as always (limits, cost and introspection rules included) and hands us the
 * validated document; Apollo's document cache keeps that same DocumentNode for the same query
 * text, so plans are kept per document object and go when Apollo evicts it.
 *
 * An operation compiles on its second run; its first runs on graphql-js. Compiling costs 1 to 3 ms
 * for a page query and 30 ms for introspection, which only pays when the same text comes back, as
 * it does from admin UIs, launchers and gateways; a caller sending ever new documents would
 * otherwise make us compile each one. `onCompiled` counts compilations (a metric).
 */
export function jitExecutor(schema: GraphQLSchema, onCompiled: () => void = () => {}): GatewayExecutor {
  const plans = new WeakMap<DocumentNode, Map<string, Plan>>();
  const planFor = (document: DocumentNode, operationName: string | null): Plan | undefined => {
    let byOperation = plans.get(document);
    if (!byOperation) plans.set(document, (byOperation = new Map()));
    const key = operationName ?? '';
    const plan = byOperation.get(key);
    if (plan === undefined) {
      byOperation.set(key, SEEN_ONCE);
      return undefined;
    }
    if (plan !== SEEN_ONCE) return plan;
    const compiled = compileQuery(schema, document, operationName ?? undefined);
    byOperation.set(key, compiled);
    onCompiled();
    return compiled;
  };
  return async ({ document, operation, operationName, request, context }) => {
    const plan = planFor(document, operationName);
    const variableValues = request.variables ?? {};
    if (plan === undefined || plan === SEEN_ONCE) {
      return execute({ schema, document, operationName, variableValues, contextValue: context });
    }
    // graphql-js coerces the variables first so a bad one gets the very error (message, node,
    // shape) the interpreter gives, which Apollo and the error formatter recognise; the compiled
    // function coerces them again, cheaply, for its own use.
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variableValues, { maxErrors: 50 });
    if (coerced.errors) return { errors: coerced.errors };
    if (!isCompiledQuery(plan)) return plan;
    const result = await plan.query(undefined, context, variableValues);
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
export function jitGateway(schema: GraphQLSchema, onCompiled?: () => void): GatewayInterface {
  return {
    async load() {
      return { executor: jitExecutor(schema, onCompiled) };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    async stop() {},
  };
}
