import { GraphQLError, GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';

/** The stable `extensions.code` values clients can rely on. */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export interface FieldError {
  field: string;
  message: string;
}

export function badUserInput(fields: FieldError[]): GraphQLError {
  const summary = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  return new GraphQLError(`Invalid input: ${summary}`, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, fields },
  });
}

export function notFound(what: string, field: string, ids: string[]): GraphQLError {
  const list = ids.map((id) => JSON.stringify(id)).join(', ');
  return new GraphQLError(`No ${what} with id ${list}`, {
    extensions: { code: ErrorCode.NOT_FOUND, field, ids, fields: [{ field, message: `unknown id ${list}` }] },
  });
}

export function conflict(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code: ErrorCode.CONFLICT } });
}

/** No usable token: the reason is short and fixed, never the verifier's own message. */
export function unauthenticated(reason: string): GraphQLError {
  return new GraphQLError(`Not authenticated: ${reason}`, {
    extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401, headers: new Map([['www-authenticate', 'Bearer']]) } },
  });
}

export function forbidden(what: string, field?: string): GraphQLError {
  return new GraphQLError(`Not allowed: ${what}`, { extensions: { code: ErrorCode.FORBIDDEN, ...(field ? { field } : {}) } });
}

/** Codes graphql-js and Apollo Server give to request errors; they carry no server detail. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);
const OUR_CODES = new Set<string>(Object.values(ErrorCode));

type Log = (message: string) => void;

/**
 * The one place failures become what a client sees. Errors we raised on purpose pass through;
 * anything else (a driver error, a bug) is logged here with its stack and masked, so no SQL,
 * stack or driver text reaches the client.
 */
export function createFormatError(log: Log = (m) => console.error(m)) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    const original = unwrapResolverError(error);
    const raisedOnPurpose = original instanceof GraphQLError && typeof code === 'string' && OUR_CODES.has(code);
    if (code === ErrorCode.BAD_USER_INPUT && !formatted.extensions?.fields) return variableCoercionError(formatted);
    if (raisedOnPurpose || (typeof code === 'string' && REQUEST_ERROR_CODES.has(code))) {
      return withoutStacktrace(formatted);
    }
    const detail = original instanceof Error ? (original.stack ?? original.message) : String(original);
    log(`Unexpected error at ${formatted.path?.join('.') ?? 'request'}: ${detail}`);
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

function withoutStacktrace(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (!formatted.extensions || !('stacktrace' in formatted.extensions)) return formatted;
  const { stacktrace: _dropped, ...extensions } = formatted.extensions;
  return { ...formatted, extensions };
}

/**
 * graphql-js rejects ill-typed variables before any resolver runs; give those errors the same
 * `fields` shape as ours so a client handles every BAD_USER_INPUT alike. Its message quotes the
 * whole variable value, a registry password included: that part is dropped, and so is the value
 * a scalar could not read, leaving the variable, the path and the reason.
 */
function variableCoercionError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const variable = /^Variable "\$(\w+)"/.exec(formatted.message)?.[1];
  const parsed = variable ? COERCION_MESSAGE.exec(formatted.message) : null;
  const at = parsed?.[1];
  const reason = parsed?.[2]?.replace(/( cannot represent [^:]*?value): [^]*$/, '$1.');
  const named = reason ? /^Field "([^"]+)" (?:of required type|is not defined)/.exec(reason)?.[1] : undefined;
  // "input.type" is the field `type` of the variable `input`: name the field as the input has it.
  const path = [at?.replace(/^[^.[]+\.?/, ''), named].filter(Boolean).join('.');
  const field = path || variable || 'variables';
  const quotesValue = formatted.message.includes(' got invalid value ');
  const message = variable && quotesValue ? `Variable "$${variable}" got invalid value${at ? ` at "${at}"` : ''}; ${reason ?? 'it does not match its type.'}` : formatted.message;
  const { stacktrace: _dropped, ...extensions } = formatted.extensions ?? {};
  return {
    ...formatted,
    message,
    extensions: { ...extensions, code: ErrorCode.BAD_USER_INPUT, fields: [{ field, message }] },
  };
}

// `Variable "$v" got invalid value <the value, any text> [at "<path>"]; <reason>`: the reasons
// graphql-js and our scalars give start in one of these ways, which the greedy start skips to.
const COERCION_MESSAGE = /^[^]*?got invalid value [^]*?(?: at "([^"]+)")?; ((?:Field "|Expected |Value |Unknown |\w+ cannot represent |DateTime )[^;]*)$/;
