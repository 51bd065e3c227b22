/** How the service writes every id: randomUUID's lowercase hex (UUIDv7 for audit events has the same shape). */
const RECORD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether `value` can be a record's id. Anything else names no record, and is answered as unknown
 * without asking the database: MySQL/MariaDB compare the `ascii_bin` id columns in ways SQLite does
 * not (non-ASCII text fails the statement with "Illegal mix of collations", and trailing spaces are
 * ignored, so `"<id> "` would find the record).
 */
export function isRecordId(value: unknown): value is string {
  return typeof value === 'string' && RECORD_ID.test(value);
}
