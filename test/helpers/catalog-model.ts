/**
 * A small in-memory picture of what the catalog should hold, the rules it is written against
 * (restated from the schema and README, not imported from src/, so a wrong rule in the service is
 * not also the test's rule), and the checks that compare it with the service's answers and with
 * the database. Used by test/property-based.test.ts.
 */
import type { GraphQLErrorShape, GraphQLResponse, TestApp } from './test-app';

export type ImageType = 'CPU' | 'GPU' | 'UNIVERSAL';
export const IMAGE_TYPES: readonly ImageType[] = ['CPU', 'GPU', 'UNIVERSAL'];

export interface ModelImage {
  id: string;
  name: string;
  displayName: string;
  description: string | null;
  type: ImageType;
  url: string;
  urlForGpu: string | null;
  pullSecretId: string | null;
  global: boolean;
  enabled: boolean;
  version: number;
  groupIds: Set<string>;
}

export interface ModelGroup {
  id: string;
  name: string;
  displayName: string;
  description: string | null;
}

export interface ModelSecret {
  id: string;
  name: string;
  displayName: string;
  registryHost: string;
  username: string;
}

export class CatalogModel {
  images = new Map<string, ModelImage>();
  groups = new Map<string, ModelGroup>();
  secrets = new Map<string, ModelSecret>();
  /** Ids of deleted records: the unknown ids a real client is most likely to send. */
  goneIds: string[] = [];
  auditEvents = 0;

  nameTaken(kind: 'image' | 'group' | 'secret', name: string): boolean {
    const records: Iterable<{ name: string }> = kind === 'image' ? this.images.values() : kind === 'group' ? this.groups.values() : this.secrets.values();
    for (const record of records) if (sameName(record.name, name)) return true;
    return false;
  }
}

/** Names are unique ignoring case; every valid name is ASCII, where both databases fold alike. */
export const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

// ---------------------------------------------------------------------------------------------
// The input rules, as the README and the SDL state them (the cap of 1000 group ids a call is the
// service's own).

export const MAX_DISPLAY_NAME = 100;
export const MAX_DESCRIPTION = 2000;
export const MAX_USERNAME = 255;
export const MAX_GROUPS_PER_CALL = 1000;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as the service stores it: trimmed (JavaScript's notion of white space), and with lone
 * UTF-16 surrogates, which no database column can hold, as U+FFFD.
 */
export function storedText(raw: string): string {
  return raw.trim().replace(LONE_SURROGATE, '\uFFFD');
}

/** Lengths are in characters (code points), as MySQL/MariaDB count a VARCHAR(n). */
export const characters = (value: string): number => [...value].length;

const DNS_LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

/** Image and pull-secret names: a Kubernetes DNS-1123 subdomain of at most 63 characters. */
export const isDnsName = (name: string): boolean => name.length <= 63 && DNS_SUBDOMAIN.test(name);

/** Group names: 1 to 63 letters, digits, `-` and `_`, starting and ending with a letter or digit. */
export const isGroupName = (name: string): boolean => name.length <= 63 && /^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$/.test(name);

// ---------------------------------------------------------------------------------------------
// GraphQL's own input coercion (the spec's rules for variables), so the model knows which
// ill-typed variables the server must refuse before any resolver runs, and with which field.

export type GqlType =
  | { kind: 'String' | 'ID' | 'Boolean' | 'Int'; nonNull?: boolean }
  | { kind: 'enum'; values: readonly string[]; nonNull?: boolean }
  | { kind: 'list'; of: GqlType; nonNull?: boolean }
  | { kind: 'input'; fields: Record<string, GqlType>; nonNull?: boolean };

export const gql = {
  string: (nonNull = false): GqlType => ({ kind: 'String', nonNull }),
  id: (nonNull = false): GqlType => ({ kind: 'ID', nonNull }),
  boolean: (nonNull = false): GqlType => ({ kind: 'Boolean', nonNull }),
  int: (nonNull = false): GqlType => ({ kind: 'Int', nonNull }),
  imageType: (nonNull = false): GqlType => ({ kind: 'enum', values: IMAGE_TYPES, nonNull }),
  list: (of: GqlType, nonNull = false): GqlType => ({ kind: 'list', of, nonNull }),
  input: (fields: Record<string, GqlType>, nonNull = false): GqlType => ({ kind: 'input', fields, nonNull }),
};

/** A field the server must name in a variable-coercion error. */
export interface ExpectedField {
  field: string;
}

export interface Coerced {
  errors: ExpectedField[];
  values: Record<string, unknown>;
}

/**
 * Coerces `variables` as graphql-js does, and predicts the field each error is reported under
 * (the service names `input.groupIds[1]` as `groupIds[1]`, a top-level `$groupIds` element as
 * `groupIds[1]`, a missing input field by its own name).
 */
export function coerceVariables(definitions: Record<string, GqlType>, variables: Record<string, unknown>): Coerced {
  const errors: ExpectedField[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(definitions)) {
    const given = Object.prototype.hasOwnProperty.call(variables, name) && variables[name] !== undefined;
    if (!given || variables[name] === null) {
      // "Variable "$input" of required type ... was not provided": the field is the variable.
      if (type.nonNull) errors.push({ field: name });
      else if (given) values[name] = null;
      continue;
    }
    const fieldOf = (path: (string | number)[], named?: string): string => {
      if (path.length === 0) return named ?? name;
      const printed = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
      const inside = typeof path[0] === 'number' ? `${name}${printed}` : printed.slice(1);
      return named ? `${inside}.${named}` : inside;
    };
    values[name] = coerceValue(type, variables[name], [], (path, named) => errors.push({ field: fieldOf(path, named) }));
  }
  return { errors, values };
}

type OnError = (path: (string | number)[], named?: string) => void;

function coerceValue(type: GqlType, value: unknown, path: (string | number)[], onError: OnError): unknown {
  if (value === null || value === undefined) {
    if (type.nonNull) onError(path);
    return null;
  }
  switch (type.kind) {
    case 'String':
      if (typeof value !== 'string') onError(path);
      return value;
    case 'ID':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' && Number.isInteger(value)) return String(value);
      onError(path);
      return value;
    case 'Boolean':
      if (typeof value !== 'boolean') onError(path);
      return value;
    case 'Int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value > 2 ** 31 - 1 || value < -(2 ** 31)) onError(path);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !type.values.includes(value)) onError(path);
      return value;
    case 'list':
      // A single value where a list is expected is a list of that one value.
      if (!Array.isArray(value)) return [coerceValue(type.of, value, path, onError)];
      return value.map((item, index) => coerceValue(type.of, item, [...path, index], onError));
    case 'input': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        onError(path);
        return value;
      }
      const object = value as Record<string, unknown>;
      const result: Record<string, unknown> = {};
      for (const [field, fieldType] of Object.entries(type.fields)) {
        if (!(field in object) || object[field] === undefined) {
          if (fieldType.nonNull) onError(path, field);
          continue;
        }
        result[field] = coerceValue(fieldType, object[field], [...path, field], onError);
      }
      for (const field of Object.keys(object)) if (!(field in type.fields)) onError(path, field);
      return result;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// What a call should do, and the checks of what it did.

/** The codes a rejected mutation may carry; GraphQL's own request errors are never expected here. */
export const STABLE_CODES = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT']);

export type Prediction =
  | {
      kind: 'ok';
      /** Checks the mutation's answer and updates the model. */
      apply: (data: Record<string, unknown>) => void;
    }
  | {
      kind: 'BAD_USER_INPUT';
      /** Exactly the fields the error must name. */
      fields: string[];
    }
  | { kind: 'NOT_FOUND'; field: string; ids: string[] }
  | { kind: 'CONFLICT'; field: string };

export class Mismatch extends Error {}

export function fail(message: string, details?: unknown): never {
  const shown = details === undefined ? '' : `\n${clip(showJson(details), 4000)}`;
  throw new Mismatch(`${message}${shown}`);
}

/** Long values shortened for messages and fast-check's counterexample output. */
export function clip(text: string, max = 120): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length} chars)`;
}

/**
 * JSON with the characters that look like others (white space other than " ", controls, format
 * characters, combining marks, U+FFFD) escaped, so a counterexample reads unambiguously.
 */
export function showJson(value: unknown, replacer?: (key: string, value: unknown) => unknown): string {
  const json = JSON.stringify(value, replacer) ?? 'undefined';
  // JSON.stringify already escapes lone surrogates and the usual controls.
  return json.replace(/(?! )[\p{White_Space}\p{Cc}\p{Cf}\p{M}\uFFFD]/gu, (c) =>
    Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}

/** The field(s) an error names: `extensions.field` and every `extensions.fields[].field`. */
export function errorFields(error: GraphQLErrorShape): string[] {
  const named = error.extensions?.fields?.map((f) => f.field) ?? [];
  const field = error.extensions?.field;
  return typeof field === 'string' ? [field, ...named] : named;
}

/** Every error: a stable code (never INTERNAL_SERVER_ERROR), at least one field, an HTTP status that is not 5xx. */
export function checkErrorShape(response: GraphQLResponse): void {
  if (response.status >= 500) fail(`HTTP ${response.status}`, response.errors);
  for (const error of response.errors ?? []) {
    const code = error.extensions?.code;
    if (typeof code !== 'string' || !STABLE_CODES.has(code)) fail(`error code ${String(code)} is not one of ${[...STABLE_CODES].join(', ')}`, error);
    if (errorFields(error).length === 0) fail('error names no field', error);
  }
}

/** Variable-coercion errors: each BAD_USER_INPUT, together naming exactly the expected fields. */
export function checkCoercionErrors(response: GraphQLResponse, expected: ExpectedField[]): void {
  checkErrorShape(response);
  const errors = response.errors ?? [];
  if (errors.length === 0) fail('ill-typed variables were accepted', response.data);
  if (response.data) fail('ill-typed variables still produced data', response.data);
  const got = errors.map((e) => {
    if (e.extensions?.code !== 'BAD_USER_INPUT') fail('an ill-typed variable is not BAD_USER_INPUT', e);
    return errorFields(e)[0];
  });
  const unmatched = [...got];
  for (const want of expected) {
    const at = unmatched.findIndex((field) => field === want.field);
    if (at < 0) fail(`no error names ${want.field}`, { expected, got });
    unmatched.splice(at, 1);
  }
  if (unmatched.length > 0) fail(`unexpected errors for ${unmatched.join(', ')}`, { expected, got });
}

/**
 * Compares a mutation's answer with the prediction. `learnable` fields had values whose validity
 * the model does not know (random URLs): an error naming some of them and every field known to be
 * `invalid`, and nothing else, teaches the model they were invalid; any other answer means they
 * were valid, and the prediction made on that assumption must hold.
 */
export function checkOutcome(response: GraphQLResponse, mutation: string, prediction: Prediction, learnable: string[] = [], invalid: string[] = []): void {
  checkErrorShape(response);
  const errors = response.errors ?? [];
  if (errors.length > 1) fail('a mutation failed with more than one error', errors);
  const error = errors[0];
  if (error && error.extensions?.code === 'BAD_USER_INPUT' && learnable.length > 0) {
    const fields = errorFields(error);
    const known = invalid;
    const learned = fields.filter((f) => learnable.includes(f));
    if (learned.length > 0) {
      if (!known.every((f) => fields.includes(f)) || !fields.every((f) => known.includes(f) || learnable.includes(f))) {
        fail(`${mutation}: BAD_USER_INPUT named ${fields.join(', ')}; expected ${known.join(', ') || 'none'} plus some of ${learnable.join(', ')}`, error);
      }
      return;
    }
  }
  if (prediction.kind === 'ok') {
    if (error) fail(`${mutation} should have succeeded`, error);
    const data = response.data?.[mutation];
    if (data === undefined || data === null) fail(`${mutation} returned no data`, response.data);
    prediction.apply(data as Record<string, unknown>);
    return;
  }
  if (!error) fail(`${mutation} should have failed with ${prediction.kind}`, { prediction, data: response.data });
  if (response.data?.[mutation] != null) fail(`${mutation} failed but returned data`, response.data);
  if (error.extensions?.code !== prediction.kind) fail(`${mutation} failed with ${error.extensions?.code}, expected ${prediction.kind}`, { prediction, error });
  const fields = errorFields(error);
  switch (prediction.kind) {
    case 'BAD_USER_INPUT': {
      const named = [...new Set(error.extensions?.fields?.map((f) => f.field))].sort();
      if (JSON.stringify(named) !== JSON.stringify([...prediction.fields].sort())) {
        fail(`${mutation}: BAD_USER_INPUT named ${named.join(', ')}, expected ${prediction.fields.join(', ')}`, error);
      }
      break;
    }
    case 'NOT_FOUND':
      if (error.extensions?.field !== prediction.field) fail(`${mutation}: NOT_FOUND for ${String(error.extensions?.field)}, expected ${prediction.field}`, error);
      if (JSON.stringify(error.extensions?.ids) !== JSON.stringify(prediction.ids)) fail(`${mutation}: NOT_FOUND ids`, { expected: prediction.ids, error });
      break;
    case 'CONFLICT':
      if (!fields.includes(prediction.field)) fail(`${mutation}: CONFLICT should name ${prediction.field}`, error);
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// The database, read back after every step.

interface Snapshot {
  images: Record<string, unknown>[];
  groups: Record<string, unknown>[];
  secrets: Record<string, unknown>[];
  links: { imageId: string; groupId: string }[];
  auditEvents: number;
}

async function snapshot(app: TestApp): Promise<Snapshot> {
  const q = (sql: string) => app.dataSource.query(sql) as Promise<Record<string, unknown>[]>;
  const [images, groups, secrets, links, audit] = await Promise.all([
    q('SELECT id, name, displayName, description, type, url, urlForGpu, pullSecretId, global, enabled, version FROM images'),
    q('SELECT id, name, displayName, description FROM user_groups'),
    q('SELECT id, name, displayName, registryHost, username FROM image_pull_secrets'),
    q('SELECT imageId, groupId FROM image_group_links'),
    q('SELECT COUNT(*) AS n FROM audit_events'),
  ]);
  return { images, groups, secrets, links: links as Snapshot['links'], auditEvents: Number(audit[0].n) };
}

const byId = (a: { id?: unknown }, b: { id?: unknown }) => String(a.id).localeCompare(String(b.id));

/** JSON with keys in a fixed order, so records compare by content only. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/**
 * The stored catalog equals the model: same records with the same fields, same links, one audit
 * event per change and none for a failed call; names unique ignoring case; no link or pull-secret
 * reference to a record that is gone.
 */
export async function checkDatabase(app: TestApp, model: CatalogModel): Promise<void> {
  const db = await snapshot(app);
  const images = db.images
    .map((row): Record<string, unknown> => ({ ...row, global: Boolean(Number(row.global)), enabled: Boolean(Number(row.enabled)), version: Number(row.version) }))
    .sort(byId);
  const expectedImages = [...model.images.values()]
    .map(({ groupIds: _groups, ...image }) => image)
    .sort(byId);
  if (canonical(images) !== canonical(expectedImages)) fail('images in the database differ from the model', diffRows(expectedImages, images));
  const groups = [...db.groups].sort(byId);
  const expectedGroups = [...model.groups.values()].sort(byId);
  if (canonical(groups) !== canonical(expectedGroups)) fail('groups in the database differ from the model', diffRows(expectedGroups, groups));
  const secrets = [...db.secrets].sort(byId);
  const expectedSecrets = [...model.secrets.values()].sort(byId);
  if (canonical(secrets) !== canonical(expectedSecrets)) fail('pull secrets in the database differ from the model', diffRows(expectedSecrets, secrets));

  const links = db.links.map((l) => `${l.imageId} ${l.groupId}`).sort();
  const expectedLinks = [...model.images.values()].flatMap((i) => [...i.groupIds].map((g) => `${i.id} ${g}`)).sort();
  if (JSON.stringify(links) !== JSON.stringify(expectedLinks)) fail('group links in the database differ from the model', { expected: expectedLinks, got: links });

  const imageIds = new Set(db.images.map((i) => i.id));
  const groupIds = new Set(db.groups.map((g) => g.id));
  const secretIds = new Set(db.secrets.map((s) => s.id));
  const dangling = db.links.filter((l) => !imageIds.has(l.imageId) || !groupIds.has(l.groupId));
  if (dangling.length > 0) fail('links to records that are gone', dangling);
  const orphans = db.images.filter((i) => i.pullSecretId !== null && !secretIds.has(i.pullSecretId));
  if (orphans.length > 0) fail('images referring to pull secrets that are gone', orphans);
  for (const [table, rows] of [['images', db.images], ['user_groups', db.groups], ['image_pull_secrets', db.secrets]] as const) {
    const names = rows.map((r) => String(r.name).toLowerCase());
    if (new Set(names).size !== names.length) fail(`duplicate names (ignoring case) in ${table}`, names);
  }
  if (db.auditEvents !== model.auditEvents) fail(`${db.auditEvents} audit events, expected ${model.auditEvents}`);
}

function diffRows(expected: object[], got: object[]): unknown {
  const e = new Set(expected.map((r) => canonical(r)));
  const g = new Set(got.map((r) => canonical(r)));
  return {
    missing: [...e].filter((r) => !g.has(r)).map((r) => clip(r, 600)),
    unexpected: [...g].filter((r) => !e.has(r)).map((r) => clip(r, 600)),
  };
}

/** Empties the catalog between runs, children before parents. */
export async function resetDatabase(app: TestApp): Promise<void> {
  for (const table of ['image_group_links', 'images', 'image_pull_secrets', 'user_groups', 'audit_events']) {
    await app.dataSource.query(`DELETE FROM ${table}`);
  }
  app.serverErrors.length = 0;
  app.logs.length = 0;
}
