import { GraphQLResolveInfo, Kind, SelectionSetNode } from 'graphql';

/**
 * Whether the field being resolved selects `name` directly (through fragments too), so a service
 * can start work it will be asked for. `@skip`/`@include` are not weighed: a skipped field only
 * costs a statement whose answer goes unused.
 */
export function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  return selectedFieldNames(info)?.has(name) ?? false;
}

/**
 * The names of the fields selected at `path` below the field being resolved (through fragments),
 * or undefined when nothing there is selected. A field's own arguments and aliases are ignored:
 * what is asked for, not how.
 */
export function selectedFieldNames(info: GraphQLResolveInfo, path: string[] = []): Set<string> | undefined {
  const names = new Set<string>();
  let found = false;
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined, depth: number): void => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet, depth);
      else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const key = `${selection.name.value}@${depth}`;
        if (seen.has(key)) continue;
        seen.add(key);
        walk(info.fragments[selection.name.value]?.selectionSet, depth);
      } else if (depth === path.length) {
        found = true;
        names.add(selection.name.value);
      } else if (selection.name.value === path[depth]) walk(selection.selectionSet, depth + 1);
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet, 0);
  return found ? names : undefined;
}

const withinCache = new WeakMap<object, Map<ReadonlySet<string>, boolean>>();

/**
 * Whether the field being resolved selects nothing but fields of `allowed` (so a summary of its
 * record will do). Asked once per item of a list: the answer is kept per field node list, which
 * graphql-js and graphql-jit pass unchanged to every item.
 */
export function selectsOnly(info: GraphQLResolveInfo, allowed: ReadonlySet<string>): boolean {
  let answers = withinCache.get(info.fieldNodes);
  if (!answers) withinCache.set(info.fieldNodes, (answers = new Map()));
  let answer = answers.get(allowed);
  if (answer === undefined) {
    const names = selectedFieldNames(info);
    answer = names !== undefined && [...names].every((name) => allowed.has(name));
    answers.set(allowed, answer);
  }
  return answer;
}
