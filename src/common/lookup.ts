import { badUserInput } from '../errors';

export type Lookup = { by: 'id'; value: string } | { by: 'name'; value: string };

/** `image(id:, name:)` and its siblings take exactly one of the two. */
export function exactlyOneOf(args: { id?: string | null; name?: string | null }): Lookup {
  const hasId = args.id != null;
  const hasName = args.name != null;
  if (hasId === hasName) {
    const message = 'give exactly one of id and name';
    throw badUserInput([
      { field: 'id', message },
      { field: 'name', message },
    ]);
  }
  return hasId ? { by: 'id', value: args.id as string } : { by: 'name', value: (args.name as string).trim() };
}
