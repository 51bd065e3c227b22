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
