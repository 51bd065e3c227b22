import { badUserInput } from '../errors';
import type { LookupLoaders } from '../db/loader-helpers';

/** `image(id:, name:)` and its siblings take exactly one of the two; null when nothing matches. */
export function findByIdOrName<T>(args: { id?: string | null; name?: string | null }, loaders: LookupLoaders<T>): Promise<T | null> {
  const hasId = args.id != null;
  const hasName = args.name != null;
  if (hasId === hasName) {
    const message = 'give exactly one of id and name';
    throw badUserInput([
      { field: 'id', message },
      { field: 'name', message },
    ]);
  }
  return hasId ? loaders.byId.load(args.id as string) : loaders.byName.load((args.name as string).trim());
}

/**
 * A federation reference (`{ id }` or `{ name }`) resolved through the request's scoped loaders:
 * the gateway's hundreds of references become one batched query, and a record the caller may not
 * see resolves to null exactly as it does for `image(id:)`.
 */
export function resolveReference<T>(reference: { id?: unknown; name?: unknown }, loaders: LookupLoaders<T>): Promise<T | null> {
  // A gateway passes representations through unchecked: a key that is not a string names nothing.
  if (typeof reference.id === 'string') return loaders.byId.load(reference.id);
  if (typeof reference.name === 'string') return loaders.byName.load(reference.name);
  return Promise.resolve(null);
}
