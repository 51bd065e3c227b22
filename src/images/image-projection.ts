import type { ImagePullSecret } from '../pull-secrets/image-pull-secret.entity';
import type { Image } from './image.entity';

/**
 * The columns each field of `Image` reads, for queries that fetch only what the client asked for
 * (the launcher answers hundreds of images; every unasked column costs parsing and garbage).
 */
const COLUMNS_OF_FIELD: Record<string, (keyof Image)[]> = {
  __typename: [],
  id: [],
  name: ['name'],
  displayName: ['displayName'],
  description: ['description'],
  type: ['type'],
  url: ['url'],
  urlForGpu: ['urlForGpu'],
  urlFor: ['type', 'url', 'urlForGpu'],
  pullSecret: ['pullSecretId'],
  global: ['global'],
  enabled: ['enabled'],
  groups: [],
  ownerGroup: ['ownerGroupId'],
  version: ['version'],
  createdAt: ['createdAt'],
  updatedAt: ['updatedAt'],
  createdBy: ['createdBy'],
  updatedBy: ['updatedBy'],
  availability: ['type', 'url', 'urlForGpu'],
  availabilityFor: ['type', 'url', 'urlForGpu'],
};

/** The pull-secret fields a joined row can answer without the secret's other columns. */
const THIN_SECRET_FIELDS = new Set(['__typename', 'id', 'name']);

/**
 * The image columns `fields` need (the id always), or undefined for every column: no selection
 * known, or a field this table does not list (one added later reads a whole entity until it is).
 */
export function imageColumnsFor(fields: Set<string> | undefined): (keyof Image)[] | undefined {
  if (!fields) return undefined;
  const columns = new Set<keyof Image>(['id']);
  for (const field of fields) {
    const needs = COLUMNS_OF_FIELD[field];
    if (!needs) return undefined;
    needs.forEach((column) => columns.add(column));
  }
  // In one order whatever order the fields came in: one SQL text (and statement-cache shape) per set.
  return [...columns].sort();
}

/** Whether a selection of a pull secret asks only for what a join of its id and name holds. */
export function thinSecretSelection(fields: Set<string> | undefined): boolean {
  return fields !== undefined && [...fields].every((field) => THIN_SECRET_FIELDS.has(field));
}

/**
 * Pull secrets fetched with the images of one answer, for `Image.pullSecret` to return as they are:
 * partial entities, never put in a loader where another field of the request could read them.
 */
const joinedSecrets = new WeakMap<Image, Pick<ImagePullSecret, 'id' | 'name'> | null>();

export function attachSecret(image: Image, secret: Pick<ImagePullSecret, 'id' | 'name'> | null): void {
  joinedSecrets.set(image, secret);
}

/** The secret fetched with `image`, null for none, or undefined when it was not fetched with it. */
export function attachedSecret(image: Image): Pick<ImagePullSecret, 'id' | 'name'> | null | undefined {
  return joinedSecrets.get(image);
}
