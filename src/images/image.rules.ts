import { badUserInput } from '../errors';
import type { ImageType } from '../generated/graphql';
import { Image } from './image.entity';

/** The fields a create or an update may set; a key that is absent leaves the field as it is. */
export interface ImagePatch {
  displayName?: string | null;
  description?: string | null;
  type?: ImageType | null;
  url?: string;
  urlForGpu?: string | null;
  pullSecretId?: string | null;
  global?: boolean | null;
  enabled?: boolean | null;
}

/**
 * The image as it is after `patch`, with the type/url rules applied: only a UNIVERSAL image has a
 * urlForGpu (giving one for CPU or GPU is an error) and a type change away from UNIVERSAL drops it;
 * a blank displayName falls back to the name.
 */
export function applyImagePatch(current: Image, patch: ImagePatch): Image {
  const next = Object.assign(new Image(), current);
  if (patch.type != null) next.type = patch.type;
  if (patch.displayName !== undefined) next.displayName = patch.displayName ? patch.displayName : current.name;
  if (patch.description !== undefined) next.description = patch.description;
  if (patch.url !== undefined) next.url = patch.url;
  if (patch.pullSecretId !== undefined) next.pullSecretId = patch.pullSecretId;
  if (patch.global != null) next.global = patch.global;
  if (patch.enabled != null) next.enabled = patch.enabled;
  if (patch.urlForGpu != null && next.type !== 'UNIVERSAL') {
    throw badUserInput([{ field: 'urlForGpu', message: `only UNIVERSAL images have a urlForGpu; this image is ${next.type}` }]);
  }
  if (patch.urlForGpu !== undefined) next.urlForGpu = patch.urlForGpu;
  if (next.type !== 'UNIVERSAL') next.urlForGpu = null;
  return next;
}

/** The reference to launch on an instance with or without a GPU. */
export function urlFor(image: Image, gpu: boolean): string {
  return gpu && image.type === 'UNIVERSAL' && image.urlForGpu ? image.urlForGpu : image.url;
}

/** Which image types can run on an instance: a GPU image needs a GPU, a GPU instance runs all. */
export function typesRunnableOn(gpu: boolean): ImageType[] {
  return gpu ? ['CPU', 'GPU', 'UNIVERSAL'] : ['CPU', 'UNIVERSAL'];
}

const COMPARED: (keyof Image)[] = ['displayName', 'description', 'type', 'url', 'urlForGpu', 'pullSecretId', 'global', 'enabled'];

export function changedFields(before: Image, after: Image): Partial<Image> {
  const changes: Partial<Image> = {};
  for (const key of COMPARED) {
    if (before[key] !== after[key]) Object.assign(changes, { [key]: after[key] });
  }
  return changes;
}
