import { InitialSchema1764000000000 } from './1764000000000-initial-schema';

/** Listed explicitly (not globbed) so the same list works under ts-node, jest and dist/. */
export const migrations = [InitialSchema1764000000000];
