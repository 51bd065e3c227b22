import { EntityMetadata, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { DriverUtils } from 'typeorm/driver/DriverUtils';
import { rawRows } from './statement-cache';

type Field = [rawKey: string, column: ColumnMetadata];

/**
 * Per entity and alias: which raw column holds which property (entities never change at run time),
 * and the hydrators made so far, one per set of columns present in a row (as a bit mask).
 */
interface AliasRows {
  fields: Field[];
  hydrators: Map<number, Hydrator>;
}
const rowsByMetadata = new WeakMap<EntityMetadata, Map<string, AliasRows>>();

function aliasRows(qb: SelectQueryBuilder<ObjectLiteral>, metadata: EntityMetadata, alias: string): AliasRows {
  let byAlias = rowsByMetadata.get(metadata);
  if (!byAlias) rowsByMetadata.set(metadata, (byAlias = new Map()));
  let known = byAlias.get(alias);
  if (!known) {
    const driver = qb.connection.driver;
    const fields = metadata.columns.map((column): Field => [DriverUtils.buildAlias(driver, undefined, alias, column.databaseName), column]);
    byAlias.set(alias, (known = { fields, hydrators: new Map() }));
  }
  return known;
}

/** How many compiled hydrators an entity's alias keeps (for tests). */
export function hydratorsKept(metadata: EntityMetadata, alias: string): number {
  return rowsByMetadata.get(metadata)?.get(alias)?.hydrators.size ?? 0;
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
  const rows = await rawRows(qb);
  const hydrated = hydrateAll(qb, rows);
  return rows.map((raw, i) => ({ entity: hydrated[i] as T, raw }));
}

/** The main alias's entities of rows of one query, which all hold the same columns: one hydrator serves them all. */
function hydrateAll(qb: SelectQueryBuilder<ObjectLiteral>, rows: Record<string, unknown>[]): ObjectLiteral[] {
  if (rows.length === 0) return [];
  const hydrate = hydratorFor(qb, qb.expressionMap.mainAlias!.metadata, qb.alias, rows[0]);
  return rows.map(hydrate);
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
  return hydratorFor(qb, metadata, alias, raw)(raw);
}

type Hydrator = (raw: Record<string, unknown>) => ObjectLiteral;

/** Compiled hydrators kept per entity and alias; the common selections are a handful. */
const MAX_COMPILED_PER_ALIAS = 64;
/** Column sets are told apart by a bit mask; every entity here has far fewer columns. */
const MAX_MASKED_COLUMNS = 30;

function hydratorFor(qb: SelectQueryBuilder<ObjectLiteral>, metadata: EntityMetadata, alias: string, raw: Record<string, unknown>): Hydrator {
  const { fields, hydrators } = aliasRows(qb, metadata, alias);
  if (fields.length > MAX_MASKED_COLUMNS) return genericHydrator(qb, metadata, fields);
  let signature = 0;
  for (let i = 0; i < fields.length; i++) if (raw[fields[i][0]] !== undefined) signature |= 1 << i;
  let hydrator = hydrators.get(signature);
  if (!hydrator) {
    // Column sets follow the fields callers ask for: past a bound, TypeORM's way, compiled nothing.
    if (hydrators.size >= MAX_COMPILED_PER_ALIAS) return genericHydrator(qb, metadata, fields);
    const present = fields.filter(([key]) => raw[key] !== undefined);
    hydrator = compiledHydrator(qb, metadata, present) ?? genericHydrator(qb, metadata, fields);
    hydrators.set(signature, hydrator);
  }
  return hydrator;
}

/** TypeORM's own way, a property at a time: for what the compiled one does not cover. */
function genericHydrator(qb: SelectQueryBuilder<ObjectLiteral>, metadata: EntityMetadata, fields: Field[]): Hydrator {
  const driver = qb.connection.driver;
  return (raw) => {
    const entity = metadata.create(undefined, { fromDeserializer: true }) as ObjectLiteral;
    for (const [key, column] of fields) {
      const value = raw[key];
      if (value !== undefined) column.setEntityValue(entity, driver.prepareHydratedValue(value, column));
    }
    return entity;
  };
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * A constructor made for one entity and one set of columns, whose prototype is the entity's: V8
 * sees every property it assigns and lays them out inside the object, where TypeORM's way (an
 * empty object, then a property at a time) grows and copies a separate property store for each
 * row. On a page of images with their groups that garbage was a seventh of what a request
 * allocated. Values still pass through the driver's `prepareHydratedValue`, as TypeORM's do.
 * Undefined (TypeORM's way is used) for what it does not cover: embedded or virtual columns,
 * transformers, entities whose constructor sets properties, lazy relations, a `typename` option, unusual
 * property names.
 */
function compiledHydrator(qb: SelectQueryBuilder<ObjectLiteral>, metadata: EntityMetadata, present: Field[]): Hydrator | undefined {
  const driver = qb.connection.driver;
  const plain = present.every(
    ([, column]) => !column.embeddedMetadata && !column.isVirtual && !column.transformer && IDENTIFIER.test(column.propertyName),
  );
  if (!plain || typeof metadata.target !== 'function' || metadata.lazyRelations.length > 0 || qb.connection.options.typename) return undefined;
  // TypeORM builds entities with their constructor; skipping it changes nothing only when it sets nothing.
  const Target = metadata.target as new () => object;
  if (Object.keys(new Target()).length > 0) return undefined;
  const columns = present.map(([, column]) => column);
  const body = present.map(([key, column], i) => `this.${column.propertyName} = prepare(raw[${JSON.stringify(key)}], columns[${i}]);`).join('\n');
  // Only property names that are identifiers (checked above) and quoted raw keys reach the source.
  const Entity = new Function('prepare', 'columns', `return function Hydrated(raw) {\n${body}\n};`)(
    (value: unknown, column: ColumnMetadata) => driver.prepareHydratedValue(value, column),
    columns,
  ) as new (raw: Record<string, unknown>) => ObjectLiteral;
  Entity.prototype = metadata.target.prototype as object;
  return (raw) => new Entity(raw);
}

/** `getMany()` for a query over one entity, by way of `entityRows`. */
export async function entities<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>): Promise<T[]> {
  return hydrateAll(qb, await rawRows(qb)) as T[];
}
