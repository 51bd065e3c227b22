import { GraphQLError } from 'graphql';
import { QueryFailedError } from 'typeorm';
import { conflict } from '../errors';

/** The MySQL/MariaDB error number of a driver error, bare or wrapped in TypeORM's QueryFailedError. */
export function mysqlErrno(error: unknown): number | undefined {
  return (error as { driverError?: { errno?: number } }).driverError?.errno ?? (error as { errno?: number }).errno;
}

/** Thrown inside a transaction when a row changed under us; the whole transaction is retried. */
export class ConcurrentChangeError extends Error {
  constructor() {
    super('the row changed concurrently');
  }
}

/** Unique indexes whose violation means "that name is taken", by the field the client sent. */
const UNIQUE_NAME_INDEXES: Record<string, string> = {
  UQ_images_name: 'image',
  UQ_user_groups_name: 'group',
  UQ_image_pull_secrets_name: 'image pull secret',
  'images.name': 'image',
  'user_groups.name': 'group',
  'image_pull_secrets.name': 'image pull secret',
};

/**
 * The one place driver errors become client errors, for both drivers: unique-key violations
 * (MySQL/MariaDB errno 1062, SQLite SQLITE_CONSTRAINT_UNIQUE) and foreign-key violations
 * (errno 1451/1452, SQLITE_CONSTRAINT_FOREIGNKEY) are CONFLICTs; anything else is passed on to
 * errors.ts, which answers a lost database (database-unavailable.ts) with SERVICE_UNAVAILABLE, the
 * same as on read paths that never come through here, and masks the rest as INTERNAL_SERVER_ERROR.
 */
export function translateDatabaseError(error: unknown): unknown {
  if (error instanceof GraphQLError) return error;
  if (error instanceof ConcurrentChangeError) {
    return conflict('The record was changed by another request at the same time; try again');
  }
  if (!(error instanceof QueryFailedError)) return error;
  const driverError = error.driverError as { errno?: number; code?: string; message?: string } | undefined;
  const message = driverError?.message ?? '';
  if (driverError?.errno === 1062 || driverError?.code === 'SQLITE_CONSTRAINT_UNIQUE' || driverError?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const key = Object.keys(UNIQUE_NAME_INDEXES).find((k) => message.includes(k));
    if (key) {
      const what = UNIQUE_NAME_INDEXES[key];
      return conflict(`An ${what} with this name already exists`.replace(/^An (?=[^aeiou])/, 'A '), {
        field: 'name',
        fields: [{ field: 'name', message: 'is already taken' }],
      });
    }
    return conflict('The change collides with a record written at the same time; try again');
  }
  if (driverError?.errno === 1451 || driverError?.errno === 1452 || driverError?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    return conflict('A referenced record was changed or deleted at the same time; try again');
  }
  // A deadlock or lock-wait timeout (MySQL/MariaDB) that outlasted transaction.ts's retries.
  if (driverError?.errno === 1213 || driverError?.errno === 1205) {
    return conflict('Other requests kept the same records busy; try again');
  }
  return error;
}
