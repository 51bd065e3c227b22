import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { Ordering, SortDirection } from '../db/keyset-pagination';
import { searchTerm } from './text-keys';

type OrderField = 'NAME' | 'DISPLAY_NAME' | 'CREATED_AT' | 'UPDATED_AT';

const PROPERTY_OF: Record<OrderField, string> = {
  NAME: 'name',
  // The folded key, so both databases order alike (common/text-keys.ts).
  DISPLAY_NAME: 'displayNameKey',
  CREATED_AT: 'createdAt',
  UPDATED_AT: 'updatedAt',
};

/**
 * Every list defaults to NAME ASC. `nameProperty` is where a list's names sort alike on both
 * databases: image and secret names are lowercase ASCII, group names need their key.
 */
export function orderingOf(orderBy: { field: OrderField; direction: SortDirection } | null | undefined, nameProperty = 'name'): Ordering {
  const field = orderBy?.field ?? 'NAME';
  const property = field === 'NAME' ? nameProperty : PROPERTY_OF[field];
  // Every listed record's name is unique (images, groups and pull secrets alike).
  return { field, property, direction: orderBy?.direction ?? 'ASC', unique: field === 'NAME' };
}

/**
 * Substring search, case- and accent-insensitive for all of Unicode and alike on both databases:
 * the folded term in the folded `searchText` column, compared byte for byte (common/text-keys.ts).
 * `!` escapes LIKE's wildcards: SQLite has no default escape character and MySQL's backslash
 * would need escaping itself.
 */
export function whereSearch<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, search: string | null | undefined): SelectQueryBuilder<T> {
  const term = searchTerm(search);
  if (!term) return qb;
  const pattern = `%${term.replace(/[!%_]/g, (c) => `!${c}`)}%`;
  return qb.andWhere(`${qb.alias}.searchText LIKE :search ESCAPE '!'`, { search: pattern });
}
