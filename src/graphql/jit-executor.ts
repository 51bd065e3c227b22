import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import { DocumentNode, ExecutionResult, execute, GraphQLError, GraphQLSchema, getVariableValues } from 'graphql';
import { CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';

/** How operations are executed: graphql-jit compiled functions, or graphql-js's interpreter. */
export const EXECUTION_ENGINES = ['jit', 'graphql-js'] as const;
export type ExecutionEngine = (typeof EXECUTION_ENGINES)[number];

/** Apollo's gateway types, reached through @apollo/server rather than its own dependency. */
type GatewayInterface = ApolloServerOptionsWithGateway<object>['gateway'];
type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;

/**
 * Compiled operations kept at most. One holds about 180 KB of generated code and closures, so the
 * bound is what keeps a caller sending many distinct query texts from filling the heap; a service's
 * real clients send a few dozen.
 */
export const MAX_COMPILED_DOCUMENTS = 100;

type Plan = CompiledQuery | ExecutionResult;

/** Compiled plans by document and operation name, the least recently used document evicted first. */
class CompiledPlans {
  private readonly byDocument = new Map<DocumentNode, Map<string, Plan>>();
  /** Operations run once so far, whose next run compiles them; they go with Apollo's cached document. */
  private readonly seen = new WeakMap<DocumentNode, Set<string>>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly max: number,
    private readonly onCompiled: () => void,
  ) {}

  /** The plan for this operation, or undefined on its first run (which graphql-js then runs). */
  planFor(document: DocumentNode, operationName: string | null): Plan | undefined {
    const key = operationName ?? '';
    const plans = this.byDocument.get(document);
    const plan = plans?.get(key);
    if (plans && plan) {
      // Map keeps insertion order: re-inserting marks the document as the most recently used.
      this.byDocument.delete(document);
      this.byDocument.set(document, plans);
      return plan;
    }
    const seen = this.seen.get(document) ?? new Set<string>();
    this.seen.set(document, seen);
    if (!seen.has(key)) {
      seen.add(key);
      return undefined;
    }
    // Built-in scalars and enums go out as the resolvers give them, unchecked: the leaf checks
    // graphql-jit generates otherwise build two arrays per field of every row, a fifth of what a
    // page of images allocated. Values come from hydrated entities (strings, booleans, numbers,
    // enum names) and test/execution-engines.test.ts holds every field to graphql-js's answer,
    // which does check them. Custom scalars (DateTime, JSON) are still serialized.
    const compiled = compileQuery(this.schema, document, operationName ?? undefined, { disableLeafSerialization: true });
    this.onCompiled();
    this.byDocument.delete(document);
    this.byDocument.set(document, (plans ?? new Map<string, Plan>()).set(key, compiled));
    if (this.byDocument.size > this.max) this.byDocument.delete(this.byDocument.keys().next().value as DocumentNode);
    return compiled;
  }
}

/**
 * An executor that runs queries as functions graphql-jit compiled from them. Apollo parses and
 * validates as always (limits, cost and introspection rules included) and hands us the validated
 * document; Apollo's document cache keeps that same DocumentNode for the same query text, so plans
 * are kept per document object.
 *
 * A query compiles on its second run; its first runs on graphql-js. Compiling costs 1 to 3 ms for
 * a page query and 30 ms for introspection, which only pays when the same text comes back, as it
 * does from admin UIs, launchers and gateways. Everything else runs on graphql-js too: mutations
 * (graphql-jit goes on to the next root mutation after one fails, where the spec stops) and
 * documents whose operation Apollo could not pick (graphql-js gives the errors for those).
 * `onCompiled` counts compilations (a metric).
 */
export function jitExecutor(schema: GraphQLSchema, onCompiled: () => void = () => {}): GatewayExecutor {
  const plans = new CompiledPlans(schema, MAX_COMPILED_DOCUMENTS, onCompiled);
  return async ({ document, operation, operationName, request, context }) => {
    const variableValues = request.variables ?? {};
    const plan = operation?.operation === 'query' ? plans.planFor(document, operationName) : undefined;
    if (!plan) return execute({ schema, document, operationName: request.operationName, variableValues, contextValue: context });
    // graphql-js coerces the variables first so a bad one gets the very error (message, node,
    // shape) the interpreter gives, which Apollo and the error formatter recognise; the compiled
    // function coerces them again, cheaply, for its own use.
    const coerced = getVariableValues(schema, operation!.variableDefinitions ?? [], variableValues, { maxErrors: 50 });
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
