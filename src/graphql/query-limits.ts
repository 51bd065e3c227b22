import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, GraphQLFormattedError, ValidationContext, ValidationRule } from 'graphql';
import { ErrorCode } from '../errors';

/** The limits every operation is checked against before it runs; each has a setting. */
export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  maxCost: number;
}

export type LimitName = keyof QueryLimits;

/** The environment variable that sets each limit: error messages name it, so operators know what to raise. */
export const LIMIT_SETTINGS: Record<LimitName, string> = {
  maxDepth: 'GRAPHQL_MAX_DEPTH',
  maxAliases: 'GRAPHQL_MAX_ALIASES',
  maxDirectives: 'GRAPHQL_MAX_DIRECTIVES',
  maxTokens: 'GRAPHQL_MAX_TOKENS',
  maxCost: 'GRAPHQL_MAX_COST',
};

export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  maxDepth: 10,
  maxAliases: 30,
  maxDirectives: 20,
  maxTokens: 2_000,
  maxCost: 20_000,
};

/**
 * The error for an operation over a limit: BAD_USER_INPUT like any other bad input, with the
 * limit's name, its value and what was found, and `query` as the offending field.
 */
export function queryLimitError(limit: LimitName, max: number, found: number | undefined, what: string): GraphQLError {
  const message = `Query rejected: ${what} (the limit is ${max}, set by ${LIMIT_SETTINGS[limit]})`;
  return new GraphQLError(message, {
    extensions: {
      code: ErrorCode.BAD_USER_INPUT,
      limit,
      max,
      ...(found === undefined ? {} : { found }),
      fields: [{ field: 'query', message: what }],
      http: { status: 400 },
    },
  });
}

/**
 * graphql-armor's depth, alias and directive rules, reporting our error instead of theirs. The
 * number found is read from armor's message, which is the only place it gives it.
 */
export function queryLimitRules(limits: QueryLimits): ValidationRule[] {
  const report = (limit: LimitName, noun: string) => ({
    n: limits[limit],
    propagateOnRejection: false,
    exposeLimits: true,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) => {
        const found = Number(/found (\d+)/.exec(error.message)?.[1]);
        context?.reportError(queryLimitError(limit, limits[limit], Number.isFinite(found) ? found : undefined, `${noun} is ${Number.isFinite(found) ? found : 'too high'}`));
      },
    ],
  });
  return [
    maxDepthRule({ ...report('maxDepth', 'the selection depth'), ignoreIntrospection: true, flattenFragments: true }),
    maxAliasesRule(report('maxAliases', 'the number of aliases')),
    maxDirectivesRule(report('maxDirectives', 'the number of directives')),
  ];
}

/** graphql-js's own error for a document over `parseOptions.maxTokens` (it stops lexing there). */
const TOO_MANY_TOKENS = /^Syntax Error: Document contains more th(?:an|at) \d+ tokens/;

/**
 * Gives limit errors their code back: Apollo files every validation error under
 * GRAPHQL_VALIDATION_FAILED and every parse error under GRAPHQL_PARSE_FAILED. Other errors: undefined.
 */
export function formatQueryLimitError(formatted: GraphQLFormattedError, limits: QueryLimits): GraphQLFormattedError | undefined {
  const extensions = formatted.extensions ?? {};
  if (typeof extensions.limit === 'string' && extensions.limit in LIMIT_SETTINGS) {
    return { message: formatted.message, locations: formatted.locations, extensions: { ...extensions, code: ErrorCode.BAD_USER_INPUT } };
  }
  if (extensions.code === 'GRAPHQL_PARSE_FAILED' && TOO_MANY_TOKENS.test(formatted.message)) {
    const { message, extensions: limitExtensions } = queryLimitError('maxTokens', limits.maxTokens, undefined, `the document has more than ${limits.maxTokens} tokens`);
    const { http: _http, ...rest } = limitExtensions;
    return { message, extensions: rest };
  }
  return undefined;
}
