import { EntityMetadata, ObjectLiteral, QueryRunner, SelectQueryBuilder } from 'typeorm';
import type { QueryExpressionMap } from 'typeorm/query-builder/QueryExpressionMap';
import type { WhereClause } from 'typeorm/query-builder/WhereClause';

/**
 * SQL text of SELECTs by their shape, per entity. A request builds the same few query shapes again
 * and again (a page, its count, a loader's batch); TypeORM renders each one anew, walking aliases,
 * columns and a regular expression over every property name, which on the list benchmark cost
 * more CPU and garbage than the rows themselves. The shape is what the text depends on except the
 * parameter values: `IN (:...keys)` is expanded when parameters are bound, so batches of any size
 * share one text.
 */
const textByMetadata = new WeakMap<EntityMetadata, Map<string, string>>();
/**
 * At most this many shapes per entity. Callers shape some queries (the columns their fields read,
 * a page's size), so the oldest shape makes room for a new one: a burst of odd shapes costs a few
 * renderings, never the cache.
 */
const MAX_SHAPES = 500;

/**
 * Set in the test suites: every text taken from the cache is compared with the one TypeORM renders,
 * so a shape that leaves out something the text depends on fails a test instead of a query.
 */
const VERIFY = process.env.IMAGE_CATALOG_VERIFY_STATEMENT_CACHE === 'true';

/** The SQL and the parameters TypeORM would send for `qb` (`getQueryAndParameters()`). */
export function queryAndParameters(qb: SelectQueryBuilder<ObjectLiteral>): [string, unknown[]] {
  const query = cachedQuery(qb);
  return qb.connection.driver.escapeQueryWithParameters(query, qb.getParameters());
}

/** The rows of a SELECT, as `getRawMany()` returns them, through the cached text. */
export async function rawRows(qb: SelectQueryBuilder<ObjectLiteral>): Promise<Record<string, unknown>[]> {
  const map = qb.expressionMap;
  // Locks, a transaction of its own and TypeORM's result cache are getRawMany's business.
  if (map.lockMode !== undefined || map.useTransaction || map.cache) return (await qb.getRawMany()) as Record<string, unknown>[];
  const [sql, parameters] = queryAndParameters(qb);
  // TypeORM's own choice (obtainQueryRunner): the builder's runner, in a transaction, or a pooled one.
  const own = (qb as unknown as { queryRunner?: QueryRunner }).queryRunner;
  const runner = own ?? qb.connection.createQueryRunner(qb.connection.defaultReplicationModeForReads());
  try {
    return (await runner.query(sql, parameters, true)).records as Record<string, unknown>[];
  } finally {
    if (runner !== own) await runner.release();
  }
}

/** `getCount()` without joins (a `COUNT(1)`, as TypeORM's), through the cached text. */
export async function count(qb: SelectQueryBuilder<ObjectLiteral>): Promise<number> {
  const map = qb.expressionMap;
  if (map.joinAttributes.length > 0 || map.groupBys.length > 0 || map.offset !== undefined || map.skip !== undefined || map.take !== undefined) return qb.getCount();
  const counting = qb.clone().orderBy().limit(undefined).select('COUNT(1)', 'cnt').setOption('disable-global-order');
  const rows = await rawRows(counting);
  return rows[0]?.cnt ? Number.parseInt(String(rows[0].cnt), 10) : 0;
}

/** Whether `qb`'s shape has its text in the cache (for tests). */
export function isCached(qb: SelectQueryBuilder<ObjectLiteral>): boolean {
  const key = shapeOf(qb.expressionMap);
  return key !== undefined && (textByMetadata.get(qb.expressionMap.mainAlias!.metadata)?.has(key) ?? false);
}

/** How many shapes are cached for an entity (for tests). */
export function shapesCached(metadata: EntityMetadata): number {
  return textByMetadata.get(metadata)?.size ?? 0;
}

function cachedQuery(qb: SelectQueryBuilder<ObjectLiteral>): string {
  const map = qb.expressionMap;
  const key = shapeOf(map);
  const metadata = map.mainAlias?.hasMetadata ? map.mainAlias.metadata : undefined;
  if (key === undefined || !metadata) return qb.getQuery();
  let texts = textByMetadata.get(metadata);
  if (!texts) textByMetadata.set(metadata, (texts = new Map()));
  const known = texts.get(key);
  if (known !== undefined) {
    if (VERIFY && known !== qb.getQuery()) throw new Error(`statement cache: the shape ${key} stands for two texts:\n${known}\n${qb.getQuery()}`);
    return known;
  }
  const text = qb.getQuery();
  if (texts.size >= MAX_SHAPES) texts.delete(texts.keys().next().value as string);
  texts.set(key, text);
  return text;
}

/**
 * What a SELECT's text depends on, as a string, for the builders this service makes: selects,
 * joins to entities, string conditions, order and limit. Undefined (not cached) when the builder
 * uses anything else TypeORM renders (locks, grouping, CTEs, distinct, offsets, relation ids, a
 * sub-query as its source, conditions built from objects or brackets, ...).
 */
function shapeOf(map: QueryExpressionMap): string | undefined {
  if (
    map.queryType !== 'select' ||
    !map.mainAlias?.hasMetadata ||
    map.subQuery ||
    map.comment ||
    map.commonTableExpressions.length > 0 ||
    map.selectDistinct ||
    map.selectDistinctOn.length > 0 ||
    map.groupBys.length > 0 ||
    map.havings.length > 0 ||
    map.lockMode !== undefined ||
    map.onLocked !== undefined ||
    map.lockTables !== undefined ||
    map.maxExecutionTime ||
    map.useIndex !== undefined ||
    map.offset !== undefined ||
    map.skip !== undefined ||
    map.take !== undefined ||
    map.withDeleted ||
    !map.aliasNamePrefixingEnabled ||
    map.extraAppendedAndWhereCondition ||
    map.relationIdAttributes.length > 0 ||
    map.timeTravel ||
    map.queryEntity ||
    // An entity's own default order, and FROM sources added beside the main one.
    map.mainAlias.metadata.orderBy !== undefined ||
    map.aliases.some((alias) => alias.type === 'from' && alias !== map.mainAlias)
  ) {
    return undefined;
  }
  let shape = `${map.mainAlias.name}|${map.limit ?? ''}|${map.options.join(',')}|`;
  for (const select of map.selects) {
    if (typeof select.selection !== 'string') return undefined;
    shape += `${select.selection} AS ${select.aliasName ?? ''},`;
  }
  shape += '|';
  for (const join of map.joinAttributes) {
    // Joins to an entity class by alias and condition; a relation path ("image.groups") is not cached.
    if (typeof join.entityOrProperty !== 'function' || typeof join.condition !== 'string' || join.mapToProperty || !join.alias.hasMetadata || join.alias.subQuery) return undefined;
    shape += `${join.direction}${join.isSelected ? ' SELECTED' : ''} ${join.alias.name} ${join.alias.metadata.name} ON ${join.condition},`;
  }
  shape += '|';
  const wheres = conditionsOf(map.wheres);
  if (wheres === undefined) return undefined;
  shape += `${wheres}|`;
  for (const [property, order] of Object.entries(map.orderBys)) {
    if (typeof order !== 'string') return undefined;
    shape += `${property} ${order},`;
  }
  return shape;
}

function conditionsOf(wheres: WhereClause[]): string | undefined {
  let shape = '';
  for (const where of wheres) {
    if (typeof where.condition !== 'string') return undefined;
    shape += `${where.type}(${where.condition})`;
  }
  return shape;
}
