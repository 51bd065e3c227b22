import DataLoader from 'dataloader';
import { ObjectLiteral, Repository, SelectQueryBuilder } from 'typeorm';
import type { SqlCondition } from '../auth/access-policy';
import { entities, entityRows } from './entity-rows';
import { isRecordId } from './record-id';

/** DataLoader batch results must follow the order of the keys, with null for a missing key. */
export function oneByKey<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): (V | null)[] {
  const byKey = new Map<K, V>();
  for (const row of rows) byKey.set(keyOf(row), row);
  return keys.map((key) => byKey.get(key) ?? null);
}

export function manyByKey<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): V[][] {
  const byKey = new Map<K, V[]>();
  for (const row of rows) {
    const list = byKey.get(keyOf(row));
    if (list) list.push(row);
    else byKey.set(keyOf(row), [row]);
  }
  return keys.map((key) => byKey.get(key) ?? []);
}

/** Names compare case-insensitively in both databases, so a lookup by name must match that way too. */
export const nameKey = (name: string): string => name.toLowerCase();

export interface LookupLoaders<T> {
  byId: DataLoader<string, T | null>;
  byName: DataLoader<string, T | null>;
}

/**
 * The by-id and by-name loaders every named record has: one `IN (...)` query per batch, limited
 * by `scope(alias)` (the caller's access), so a record the caller may not see loads as null.
 * With `columns`, the records hold only those (and the id).
 */
export function lookupLoaders<T extends ObjectLiteral & { id: string; name: string }>(
  repository: Repository<T>,
  scope: (alias: string) => SqlCondition | undefined,
  columns?: (keyof T & string)[],
): LookupLoaders<T> {
  const findBy = async (column: 'id' | 'name', keys: readonly string[]) => {
    if (keys.length === 0) return [];
    const qb = only(repository.createQueryBuilder('record'), 'record', columns).where(`record.${column} IN (:...keys)`, { keys: [...keys] });
    return entities(scoped(qb, scope('record')));
  };
  return {
    byId: new DataLoader(async (ids) => oneByKey(ids, await findBy('id', ids.filter(isRecordId)), (row) => row.id)),
    byName: new DataLoader(async (names) => oneByKey(names.map(nameKey), await findBy('name', names), (row) => nameKey(row.name)), {
      cacheKeyFn: nameKey,
    }),
  };
}

export interface Through {
  /** The link table's entity, and the alias it is joined under. */
  link: new () => ObjectLiteral;
  as: string;
  /** The join condition, as `link.imageId = image.id`. */
  on: string;
  /** The link's column that holds the loader's keys. */
  key: string;
}

/**
 * Records reached through a link table (image ↔ group links, secret ↔ group shares), listed per
 * key: one `IN (...)` query per batch, limited by the caller's scopes, in `orderBy` order.
 */
export function linkedLoader<T extends ObjectLiteral>(
  repository: Repository<T>,
  alias: string,
  through: Through,
  scopes: (SqlCondition | undefined)[],
  orderBy: string,
  columns?: (keyof T & string)[],
): DataLoader<string, T[]> {
  const keyColumn = `${through.as}.${through.key}`;
  const rawKey = `${through.as}_${through.key}`;
  return new DataLoader(async (keys) => {
    let qb = only(repository.createQueryBuilder(alias), alias, columns)
      .innerJoin(through.link, through.as, through.on)
      .addSelect(keyColumn, rawKey)
      .where(`${keyColumn} IN (:...keys)`, { keys: [...keys] });
    for (const scope of scopes) qb = scoped(qb, scope);
    const rows = await entityRows(qb.orderBy(orderBy, 'ASC'));
    return manyByKey(keys, rows, (row) => row.raw[rawKey] as string).map((list) => list.map((row) => row.entity));
  });
}

/**
 * Selects only `columns` (and the id) of `alias`, for loaders of partial records: summaries that a
 * resolver uses when the client asks for nothing else, cached apart from the whole records.
 */
function only<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, alias: string, columns: string[] | undefined): SelectQueryBuilder<T> {
  return columns ? qb.select([...new Set(['id', ...columns])].map((column) => `${alias}.${column}`)) : qb;
}

/** Adds the access scope's condition, when there is one. */
export function scoped<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, condition: SqlCondition | undefined): SelectQueryBuilder<T> {
  return condition ? qb.andWhere(condition.sql, condition.params) : qb;
}
