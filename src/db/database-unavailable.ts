/**
 * Socket and DNS failures Node reports; mysql2 passes them on with their `code` and marks them
 * `fatal` (the connection is gone), which tells them from another client's (a JWKS fetch's).
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  // mysql2: the server closed the socket (stopped, restarted, killed the connection).
  'PROTOCOL_CONNECTION_LOST',
  // host-pool.ts: a Galera node that answers but is not part of the primary component.
  'WSREP_NOT_READY',
]);

/**
 * MySQL/MariaDB error numbers that say the server is going away or cannot take us, not that the
 * statement was wrong: too many connections, shutdown in progress, connection aborted or killed,
 * network read/write failures, the client library's "gone away"/"lost" family, and a Galera node
 * that has left the primary component or not yet joined it (1047).
 */
const SERVER_ERRNOS = new Set([1040, 1047, 1053, 1152, 1158, 1159, 1160, 1161, 1927, 2002, 2003, 2006, 2013, 2055, 4031]);

/** mysql2 errors that carry neither a code nor an errno, only these fixed texts. */
const MESSAGES = new Map([
  ["Can't add new command when connection is in closed state", 'CONNECTION_CLOSED'],
  ['Pool is closed.', 'POOL_CLOSED'],
]);

interface ErrorLike {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
  message?: unknown;
  driverError?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

/**
 * Why `error` means the database cannot be reached (a short, secret-free code such as
 * "ECONNREFUSED" or "ER_SERVER_SHUTDOWN"), or undefined when it is some other failure. TypeORM
 * hands these over raw (a pool that cannot connect) or wrapped in a QueryFailedError (a
 * connection lost mid-statement), and GraphQL wraps them again, so the whole chain is searched.
 */
export function databaseUnavailableCause(error: unknown): string | undefined {
  let current = error as ErrorLike | undefined;
  for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const { code, errno, fatal, message } = current;
    if (fatal === true && typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    // Node's own errnos are negative; only the server's are looked up.
    if (typeof errno === 'number' && SERVER_ERRNOS.has(errno)) return typeof code === 'string' ? code : `ERRNO_${errno}`;
    const fixed = typeof message === 'string' ? MESSAGES.get(message) : undefined;
    if (fixed) return fixed;
    current = (current.driverError ?? current.cause ?? current.originalError) as ErrorLike | undefined;
  }
  return undefined;
}
