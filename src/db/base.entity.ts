import { Column, PrimaryColumn } from 'typeorm';

/**
 * Columns every catalog record has. Timestamps are set by the services (not by database defaults)
 * so that both dialects store the same millisecond precision, which keyset cursors rely on.
 */
export abstract class BaseEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ type: 'datetime', precision: 3 })
  updatedAt: Date;

  /** The token `sub` of whoever created it; null for records older than access control. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  createdBy: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  updatedBy: string | null;
}

/** Records with an immutable unique name and a display name that defaults to it. */
export abstract class NamedEntity extends BaseEntity {
  @Column({ type: 'varchar', length: 63 })
  name: string;

  @Column({ type: 'varchar', length: 100 })
  displayName: string;

  /** The display name folded (common/text-keys.ts): lists ordered by display name sort by it. */
  @Column({ type: 'varchar', length: 400 })
  displayNameKey: string;

  // Only searches read it (common/text-keys.ts); select: false keeps it out of every ordinary read.
  @Column({ type: 'text', select: false })
  searchText?: string;
}
