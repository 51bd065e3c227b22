import { InitialSchema1764000000000 } from './1764000000000-initial-schema';
import { AccessControl1764100000000 } from './1764100000000-access-control';
import { ImageAvailability1765000000000 } from './1765000000000-image-availability';
import { ImageEnabled1765100000000 } from './1765100000000-image-enabled';
import { TextKeys1765200000000 } from './1765200000000-text-keys';
import { GroupImages1765300000000 } from './1765300000000-group-images';

/** Listed explicitly (not globbed) so the same list works under ts-node, jest and dist/. */
export const migrations = [InitialSchema1764000000000, AccessControl1764100000000, ImageAvailability1765000000000, ImageEnabled1765100000000, TextKeys1765200000000, GroupImages1765300000000];
