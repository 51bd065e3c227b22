import { GraphQLError, GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { databaseUnavailableCause } from './db/database-unavailable';

/** The stable `extensions.code` values clients can rely on. */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  REGISTRY_CHECKS_OFF: 'REGISTRY_CHECKS_OFF',
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

/** A registry check was asked for on a service running with REGISTRY_CHECKS=off. */
export function registryChecksOff(what: string): GraphQLError {
  return new GraphQLError(`${what} needs registry checks, which are off here (REGISTRY_CHECKS=off)`, { extensions: { code: ErrorCode.REGISTRY_CHECKS_OFF } });
}

/**
 * The database connection was lost while a change was being committed: it may have been applied.
 * Not retried for the caller, who can read the record back and decide.
 */
export function outcomeUnknown(): GraphQLError {
  return new GraphQLError('The database connection was lost while the change was being committed; it may or may not have been applied: read it back before trying again', {
    extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
  });
}

/** The database cannot be reached: nothing the caller did, and worth trying again shortly. */
export const DATABASE_UNAVAILABLE_MESSAGE = 'The database is unavailable; try again shortly';

/** Codes graphql-js and Apollo Server give to request errors; they carry no server detail. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);
/** Apollo gives INTERNAL_SERVER_ERROR to any error without a code, graphql-js's own among them: never ours. */
const OUR_CODES = new Set<string>(Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR));

type Log = (message: string) => void;

/**
 * The one place failures become what a client sees. Errors we raised on purpose pass through; a
 * database that cannot be reached becomes SERVICE_UNAVAILABLE, on every path (loaders, list
 * queries, transactions) alike; anything else (a driver error, a bug) is logged here with its
 * stack and masked, so no SQL, stack or driver text reaches the client.
 */
export function createFormatError(log: Log = (m) => console.error(m)) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    const original = unwrapResolverError(error);
    const raisedOnPurpose = original instanceof GraphQLError && typeof code === 'string' && OUR_CODES.has(code);
    if (code === ErrorCode.BAD_USER_INPUT && !formatted.extensions?.fields) return variableCoercionError(formatted, error);
    if (raisedOnPurpose || (typeof code === 'string' && REQUEST_ERROR_CODES.has(code))) {
      return withoutStacktrace(formatted);
    }
    const unavailable = databaseUnavailableCause(original);
    if (unavailable) return databaseUnavailable(formatted, original, unavailable, log);
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

/**
 * One failed batch (a DataLoader's, or a list query's) reaches every field that waited on it as the
 * same error object; it is logged once, by its cause's code alone, since a driver's message may
 * name the user or the host.
 */
const loggedOutages = new WeakSet<object>();

function databaseUnavailable(formatted: GraphQLFormattedError, original: unknown, cause: string, log: Log): GraphQLFormattedError {
  // Only objects have a cause (see databaseUnavailableCause).
  const batch = original as object;
  if (!loggedOutages.has(batch)) {
    loggedOutages.add(batch);
    log(`Database unavailable at ${formatted.path?.join('.') ?? 'request'} (${cause}): answered ${ErrorCode.SERVICE_UNAVAILABLE}`);
  }
  return {
    message: DATABASE_UNAVAILABLE_MESSAGE,
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
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
 * whole variable value, a registry password included, so the message is rebuilt from parts that
 * hold no value: the variable's name, the path, and the reason with any quoted value removed.
 * The reason comes from the error graphql-js wrapped (never parsed out of the value-bearing text,
 * which a caller controls), and the path is read from the end only, in linear time.
 */
function variableCoercionError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const variable = /^Variable "\$(\w+)" got invalid value /.exec(formatted.message)?.[1];
  const reason = variable ? wrappedReason(error, formatted.message) : undefined;
  const { stacktrace: _dropped, ...extensions } = formatted.extensions ?? {};
  if (!variable || reason === undefined) {
    // "Variable "$x" of required type ..." and the like quote no value; anything else unknown is
    // replaced rather than risk echoing one.
    const message = variable ? `Variable "$${variable}" got invalid value.` : formatted.message;
    // "Variable "$input" of required type ... was not provided." names its variable and no value.
    const field = variable ?? /^Variable "\$(\w+)" /.exec(formatted.message)?.[1] ?? 'variables';
    return { ...formatted, message, extensions: { ...extensions, code: ErrorCode.BAD_USER_INPUT, fields: [{ field, message }] } };
  }
  const head = formatted.message.slice(0, formatted.message.length - reason.length - 2);
  const at = pathAtEnd(head, variable);
  const safeReason = valueFreeReason(reason);
  const named = /^Field "(\w+)" (?:of required type|is not defined)/.exec(safeReason)?.[1];
  // "input.type" is the field `type` of the variable `input`: name the field as the input has it.
  const inside = at?.slice(variable.length);
  const path = [inside?.startsWith('[') ? at : inside?.replace(/^\./, ''), named].filter(Boolean).join('.');
  const message = `Variable "$${variable}" got invalid value${at ? ` at "${at}"` : ''}; ${safeReason}`;
  return {
    ...formatted,
    message,
    extensions: { ...extensions, code: ErrorCode.BAD_USER_INPUT, fields: [{ field: path || variable, message }] },
  };
}

/** The message of the error graphql-js (or Apollo, wrapping it) built `message` from: `<prefix>; <reason>`. */
function wrappedReason(error: unknown, message: string): string | undefined {
  for (let e = error as { originalError?: unknown } | undefined, depth = 0; e && depth < 5; e = e.originalError as typeof e, depth++) {
    const inner = (e.originalError as { message?: unknown } | undefined)?.message;
    if (typeof inner === 'string' && message.endsWith(`; ${inner}`)) return inner;
  }
  return undefined;
}

/** ` at "input.groupIds[1]"` closing `head`, as graphql-js prints the path; checked from the last occurrence. */
function pathAtEnd(head: string, variable: string): string | undefined {
  const marker = ` at "${variable}`;
  const start = head.lastIndexOf(marker);
  if (start < 0) return undefined;
  const path = head.slice(start + ' at "'.length);
  return /^\w+(?:\.\w+|\[\d+\])*"$/.test(path) ? path.slice(0, -1) : undefined;
}

/**
 * graphql-js's reasons as it writes them, keeping what names the schema and dropping what quotes
 * the caller's value; a reason of any other shape becomes a generic one.
 */
function valueFreeReason(reason: string): string {
  if (/^Field "\w+" of required type "[\w[\]!]+" was not provided\.$/.test(reason)) return reason;
  if (/^Field "\w+" is not defined by type "\w+"\./.test(reason)) return reason.slice(0, reason.indexOf('.', reason.indexOf('by type')) + 1);
  if (/^Expected type "[\w[\]!]+" to be an object\.$/.test(reason)) return reason;
  if (/^Expected non-nullable type "[\w[\]!]+" not to be null\.$/.test(reason)) return reason;
  const enumType = /^Value .* does not exist in "(\w+)" enum\./s.exec(reason)?.[1];
  if (enumType) return `Value does not exist in "${enumType}" enum.`;
  const scalar = /^(?:\w+|Enum "\w+") cannot represent [\w -]*?value: /.exec(reason)?.[0];
  if (scalar) return `${scalar.slice(0, -': '.length)}.`;
  if (reason === 'DateTime must be an ISO-8601 string') return reason;
  return 'the value does not match its type.';
}
