import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { Ordering, SortDirection } from '../db/keyset-pagination';

type OrderField = 'NAME' | 'DISPLAY_NAME' | 'CREATED_AT' | 'UPDATED_AT';

const PROPERTY_OF: Record<OrderField, string> = {
  NAME: 'name',
  DISPLAY_NAME: 'displayName',
  CREATED_AT: 'createdAt',
  UPDATED_AT: 'updatedAt',
};

/** Every list defaults to NAME ASC. */
export function orderingOf(orderBy: { field: OrderField; direction: SortDirection } | null | undefined): Ordering {
  const field = orderBy?.field ?? 'NAME';
  // Every listed record's name is unique (images, groups and pull secrets alike).
  return { field, property: PROPERTY_OF[field], direction: orderBy?.direction ?? 'ASC', unique: field === 'NAME' };
}

/**
 * Case-insensitive substring search over the given columns. `!` escapes LIKE's wildcards: SQLite
 * has no default escape character and MySQL's backslash would need escaping itself.
 */
export function whereSearch<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  columns: string[],
  search: string | null | undefined,
): SelectQueryBuilder<T> {
  const term = search?.trim();
  if (!term) return qb;
  const pattern = `%${term.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
  const alias = qb.alias;
  const sql = columns.map((column) => `LOWER(${alias}.${column}) LIKE :search ESCAPE '!'`).join(' OR ');
  return qb.andWhere(`(${sql})`, { search: pattern });
}
