import { GraphQLResolveInfo, Kind, SelectionSetNode } from 'graphql';

/**
 * Whether the field being resolved selects `name` directly (through fragments too), so a service
 * can start work it will be asked for. `@skip`/`@include` are not weighed: a skipped field only
 * costs a statement whose answer goes unused.
 */
export function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  const seen = new Set<string>();
  const within = (set: SelectionSetNode | undefined): boolean =>
    (set?.selections ?? []).some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value === name;
      if (selection.kind === Kind.INLINE_FRAGMENT) return within(selection.selectionSet);
      const fragmentName = selection.name.value;
      if (seen.has(fragmentName)) return false;
      seen.add(fragmentName);
      return within(info.fragments[fragmentName]?.selectionSet);
    });
  return info.fieldNodes.some((node) => within(node.selectionSet));
}
