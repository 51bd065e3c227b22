import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { badUserInput } from '../errors';
import { Connection } from './connection';
import { entities } from './entity-rows';
import { count, rawRows } from './statement-cache';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export type SortDirection = 'ASC' | 'DESC';

export interface Ordering {
  /** The GraphQL order field (NAME, ...): cursors remember it, so one made for another order is refused. */
  field: string;
  /** The entity property it sorts by; a Date or a string. */
  property: string;
  direction: SortDirection;
  /**
   * The property is unique, so it orders the rows alone: no id tie-breaker in ORDER BY or in the
   * keyset condition. MariaDB then walks the property's unique index for the first page and for a
   * deep one; with the tie-breaker it scanned and sorted the whole table (page 1) or merged two
   * indexes and sorted (later pages).
   */
  unique?: boolean;
}

interface CursorPosition {
  value: string | Date;
  id: string;
}

const CURSOR_VERSION = 'k1';
const DATE_PROPERTIES = new Set(['createdAt', 'updatedAt', 'occurredAt']);

/**
 * Keyset (cursor) pagination over `base` (a query builder that already holds the filters):
 * ordered by the ordering's property and then the id, never OFFSET, so a page near the end costs
 * what the first page costs. Reads `limit + 1` rows to learn whether more follow.
 */
export async function paginate<T extends ObjectLiteral & { id: string }>(
  base: SelectQueryBuilder<T>,
  ordering: Ordering,
  args: PageArgs,
  withCount = false,
  columns?: string[],
): Promise<Connection<T>> {
  const { limit, backward } = pageSize(args);
  const after = args.after != null ? decodeCursor(args.after, ordering, 'after') : undefined;
  const before = args.before != null ? decodeCursor(args.before, ordering, 'before') : undefined;
  // Asked for with the page: counted beside it (on MySQL another pooled connection) instead of
  // after it; only once the arguments are known to be good, so a bad cursor costs no COUNT.
  const counting = withCount ? count(base) : undefined;
  counting?.catch(() => undefined);
  const alias = base.alias;
  const column = `${alias}.${ordering.property}`;

  const page = base.clone();
  // Only the columns asked for, and those the cursors are made of.
  if (columns) page.select([...new Set([...columns, ordering.property, 'id'])].sort().map((name) => `${alias}.${name}`));
  const unique = ordering.unique ?? false;
  if (after) where(page, beyond(alias, column, ordering.direction, after, 'after', unique));
  if (before) where(page, beyond(alias, column, flip(ordering.direction), before, 'before', unique));
  const scanDirection = backward ? flip(ordering.direction) : ordering.direction;
  page.orderBy(column, scanDirection);
  if (!unique) page.addOrderBy(`${alias}.id`, scanDirection);
  const rows = await entities(page.limit(limit + 1));

  const more = rows.length > limit;
  const nodes = rows.slice(0, limit);
  if (backward) nodes.reverse();
  // Most clients ask for nodes and pageInfo.endCursor only: an edge's cursor is made when read.
  const edges = nodes.map((node) => ({
    get cursor() {
      return encodeCursor(node, ordering);
    },
    node,
  }));

  // Whether rows lie outside the cursors' bounds; one cheap indexed lookup, and only when asked.
  const existsOutside = (position: CursorPosition | undefined, direction: SortDirection, name: string) => async () => {
    if (!position) return false;
    const probe = where(base.clone(), beyond(alias, column, direction, position, name, unique, true));
    return (await rawRows(probe.select(`${alias}.id`).limit(1))).length > 0;
  };

  return {
    edges,
    nodes,
    totalCount: () => counting ?? count(base),
    pageInfo: {
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
      hasNextPage: !backward && more ? async () => true : existsOutside(before, ordering.direction, 'outside'),
      hasPreviousPage: backward && more ? async () => true : existsOutside(after, flip(ordering.direction), 'outside'),
    },
  };
}

function pageSize(args: PageArgs): { limit: number; backward: boolean } {
  const problems: { field: string; message: string }[] = [];
  for (const field of ['first', 'last'] as const) {
    const value = args[field];
    if (value != null && (value < 0 || value > MAX_PAGE_SIZE)) {
      problems.push({ field, message: `${field} must be between 0 and ${MAX_PAGE_SIZE}` });
    }
  }
  if (args.first != null && args.last != null) {
    problems.push({ field: 'last', message: 'give first or last, not both' });
  }
  if (problems.length > 0) throw badUserInput(problems);
  if (args.last != null) return { limit: args.last, backward: true };
  return { limit: args.first ?? DEFAULT_PAGE_SIZE, backward: false };
}

interface Condition {
  sql: string;
  params: Record<string, unknown>;
}

/**
 * The condition "the row comes after `position` when walking in `direction`"; with `inclusive`,
 * the row at the position counts too. Both dialects compare with the column's collation, the same
 * one their ORDER BY uses, so the keyset agrees with the ordering. `prefix` keeps parameter names
 * apart when one query holds two such conditions.
 */
function beyond(alias: string, column: string, direction: SortDirection, position: CursorPosition, prefix: string, unique: boolean, inclusive = false): Condition {
  const op = direction === 'ASC' ? '>' : '<';
  const idOp = inclusive ? `${op}=` : op;
  if (unique) return { sql: `${column} ${idOp} :${prefix}Value`, params: { [`${prefix}Value`]: position.value } };
  return {
    sql: `(${column} ${op} :${prefix}Value OR (${column} = :${prefix}Value AND ${alias}.id ${idOp} :${prefix}Id))`,
    params: { [`${prefix}Value`]: position.value, [`${prefix}Id`]: position.id },
  };
}

function where<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, condition: Condition): SelectQueryBuilder<T> {
  return qb.andWhere(condition.sql, condition.params);
}

function flip(direction: SortDirection): SortDirection {
  return direction === 'ASC' ? 'DESC' : 'ASC';
}

function orderKey(ordering: Ordering): string {
  return `${ordering.field}:${ordering.direction}`;
}

function encodeCursor(node: ObjectLiteral & { id: string }, ordering: Ordering): string {
  const raw = node[ordering.property] as unknown;
  const value = raw instanceof Date ? raw.toISOString() : String(raw);
  return Buffer.from(JSON.stringify([CURSOR_VERSION, orderKey(ordering), value, node.id])).toString('base64url');
}

function decodeCursor(cursor: string, ordering: Ordering, field: 'after' | 'before'): CursorPosition {
  const invalid = (message: string) => badUserInput([{ field, message }]);
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('is not a cursor this service issued');
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 4 ||
    decoded[0] !== CURSOR_VERSION ||
    !decoded.every((part) => typeof part === 'string') ||
    decoded[3].length === 0 ||
    decoded[3].length > 36
  ) {
    throw invalid('is not a cursor this service issued');
  }
  const [, key, rawValue, id] = decoded as string[];
  if (key !== orderKey(ordering)) throw invalid(`was issued for another orderBy (${key}); start again from the first page`);
  if (DATE_PROPERTIES.has(ordering.property)) {
    const date = new Date(rawValue);
    if (Number.isNaN(date.getTime()) || date.toISOString() !== rawValue) throw invalid('is not a cursor this service issued');
    return { value: date, id };
  }
  return { value: rawValue, id };
}
