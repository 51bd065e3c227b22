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
}
