import type { AvailabilityState, ReferenceCheck } from '../registry/registry-checks';
import type { ImageAvailabilityRecord } from './image-availability.entity';
import type { Image } from './image.entity';
import { urlFor } from './image.rules';

/** Worst first: a known problem outranks an unknown, and anything outranks AVAILABLE. */
const SEVERITY: AvailabilityState[] = ['NOT_FOUND', 'UNAUTHORIZED', 'UNREACHABLE', 'UNCHECKED', 'AVAILABLE'];

export function worstOf(states: AvailabilityState[]): AvailabilityState {
  return SEVERITY.find((state) => states.includes(state)) ?? 'UNCHECKED';
}

/** The reference a UNIVERSAL image runs on GPU instances when it differs from `url`. */
export function gpuReferenceOf(image: Pick<Image, 'type' | 'urlForGpu'>): string | null {
  return image.type === 'UNIVERSAL' && image.urlForGpu ? image.urlForGpu : null;
}

export interface ReferenceAvailability extends Omit<ReferenceCheck, 'checkedAt'> {
  checkedAt: Date | null;
}

export interface Availability {
  state: AvailabilityState;
  url: ReferenceAvailability;
  urlForGpu: ReferenceAvailability | null;
  checkedAt: Date | null;
}

/**
 * What the API shows of an image's last check. A stored result counts only for the reference it
 * was made for, so a result can never be shown for a url it did not check.
 */
export function availabilityOf(image: Image, record: ImageAvailabilityRecord | null, checksEnabled: boolean): Availability {
  const show = (reference: string, check: ReferenceCheck | null | undefined): ReferenceAvailability =>
    check && check.reference === reference ? { ...check, checkedAt: new Date(check.checkedAt) } : unchecked(reference, checksEnabled);
  const gpuReference = gpuReferenceOf(image);
  const url = show(image.url, record?.checks.url);
  const urlForGpu = gpuReference ? show(gpuReference, record?.checks.urlForGpu) : null;
  return {
    state: worstOf([url.state, ...(urlForGpu ? [urlForGpu.state] : [])]),
    url,
    urlForGpu,
    checkedAt: url.checkedAt && record ? record.checkedAt : null,
  };
}

/** The availability of the reference a launcher starts on an instance with or without a GPU. */
export function availabilityFor(availability: Availability, image: Image, gpu: boolean): ReferenceAvailability {
  return availability.urlForGpu && urlFor(image, gpu) === availability.urlForGpu.reference ? availability.urlForGpu : availability.url;
}

function unchecked(reference: string, checksEnabled: boolean): ReferenceAvailability {
  return {
    reference,
    state: 'UNCHECKED',
    digest: null,
    mediaType: null,
    platforms: [],
    compressedSize: null,
    message: checksEnabled ? 'Not checked yet: checks run right after every change, and on a schedule' : 'Registry checks are off (REGISTRY_CHECKS=off)',
    checkedAt: null,
  };
}
