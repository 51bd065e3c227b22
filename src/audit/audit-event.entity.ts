import { Column, Entity, PrimaryColumn } from 'typeorm';

export type AuditOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'SET_GROUPS' | 'READ_SECRET' | 'CHECK';
export type AuditEntityType = 'IMAGE' | 'GROUP' | 'IMAGE_PULL_SECRET';

/** What a field held: audited fields are strings, booleans, numbers or id lists. */
export type AuditValue = string | number | boolean | null | string[];

export interface AuditChange {
  field: string;
  oldValue: AuditValue;
  newValue: AuditValue;
}

@Entity({ name: 'audit_events' })
export class AuditEvent {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'datetime', precision: 3 })
  occurredAt: Date;

  @Column({ type: 'varchar', length: 255 })
  actor: string;

  @Column({ type: 'varchar', length: 32 })
  operation: AuditOperation;

  @Column({ type: 'varchar', length: 32 })
  entityType: AuditEntityType;

  @Column({ type: 'varchar', length: 36 })
  entityId: string;

  @Column({ type: 'varchar', length: 63 })
  entityName: string;

  @Column({ type: 'simple-json' })
  changes: AuditChange[];
}
