import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { AvailabilityState, ReferenceCheck } from '../registry/registry-checks';

export interface AvailabilityChecks {
  url: ReferenceCheck;
  /** For a UNIVERSAL image with a GPU url; null otherwise. */
  urlForGpu: ReferenceCheck | null;
}

/**
 * The last registry check of an image. A row describes the image's current url, urlForGpu and pull
 * secret: every change to them deletes it in the change's own transaction, so an image without a
 * row is UNCHECKED. The states sit in their own columns for the list filter and the launcher.
 */
@Entity({ name: 'image_availability' })
export class ImageAvailabilityRecord {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  imageId: string;

  /** The worse of the two references' states. */
  @Column({ type: 'varchar', length: 16 })
  state: AvailabilityState;

  @Column({ type: 'varchar', length: 16 })
  urlState: AvailabilityState;

  @Column({ type: 'varchar', length: 16, nullable: true })
  gpuUrlState: AvailabilityState | null;

  @Column({ type: 'simple-json' })
  checks: AvailabilityChecks;

  @Column({ type: 'datetime', precision: 3 })
  checkedAt: Date;
}
