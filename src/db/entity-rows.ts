import { EntityMetadata, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { DriverUtils } from 'typeorm/driver/DriverUtils';

type Field = [rawKey: string, column: ColumnMetadata];

/** Per entity and alias: which raw column holds which property. Entities never change at run time. */
const fieldsByMetadata = new WeakMap<EntityMetadata, Map<string, Field[]>>();

function fieldsOf(qb: SelectQueryBuilder<ObjectLiteral>, metadata: EntityMetadata, alias: string): Field[] {
  let byAlias = fieldsByMetadata.get(metadata);
  if (!byAlias) fieldsByMetadata.set(metadata, (byAlias = new Map()));
  let fields = byAlias.get(alias);
  if (!fields) {
    const driver = qb.connection.driver;
    fields = metadata.columns.map((column) => [DriverUtils.buildAlias(driver, undefined, alias, column.databaseName), column]);
    byAlias.set(alias, fields);
  }
  return fields;
}

export interface EntityRow<T> {
  entity: T;
  /** The row as the driver returned it, for columns selected beside the entity's (a link's key, say). */
  raw: Record<string, unknown>;
}

/**
 * The rows of a query over one entity (its main alias, every column, joins only to filter), each
 * as an entity with its raw row beside it. It is what `getMany()` returns without TypeORM's
 * general transformer, which groups rows by primary key to assemble joined relations: on the list
 * benchmark's hot path that transformer, and its garbage, cost more than the SQL.
 */
export async function entityRows<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>): Promise<EntityRow<T>[]> {
  const metadata = qb.expressionMap.mainAlias!.metadata;
  const rows = (await qb.getRawMany()) as Record<string, unknown>[];
  return rows.map((raw) => ({ entity: hydrate(qb, metadata, qb.alias, raw) as T, raw }));
}

/**
 * The entity a row holds under `alias`: the main one, or one joined with leftJoinAndSelect (null
 * when the join found nothing).
 */
export function joinedEntity<T extends ObjectLiteral>(qb: SelectQueryBuilder<ObjectLiteral>, entity: new () => T, alias: string, raw: Record<string, unknown>): T | null {
  const metadata = qb.connection.getMetadata(entity);
  const primary = DriverUtils.buildAlias(qb.connection.driver, undefined, alias, metadata.primaryColumns[0].databaseName);
  return raw[primary] == null ? null : (hydrate(qb, metadata, alias, raw) as T);
}

function hydrate(qb: SelectQueryBuilder<ObjectLiteral>, metadata: EntityMetadata, alias: string, raw: Record<string, unknown>): ObjectLiteral {
  const driver = qb.connection.driver;
  const entity = metadata.create(undefined, { fromDeserializer: true }) as ObjectLiteral;
  for (const [key, column] of fieldsOf(qb, metadata, alias)) {
    const value = raw[key];
    if (value !== undefined) column.setEntityValue(entity, driver.prepareHydratedValue(value, column));
  }
  return entity;
}

/** `getMany()` for a query over one entity, by way of `entityRows`. */
export async function entities<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>): Promise<T[]> {
  return (await entityRows(qb)).map((row) => row.entity);
}
