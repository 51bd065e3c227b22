import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { AuditChange, AuditEntityType, AuditEvent, AuditOperation, AuditValue } from './audit-event.entity';

/** Shown instead of a password, old or new. */
export const REDACTED = 'changed';

export interface AuditEntry {
  operation: AuditOperation;
  entityType: AuditEntityType;
  entity: { id: string; name: string };
  changes?: AuditChange[];
}

/**
 * Writes audit events with the manager of the change's own transaction: the change and its event
 * commit or roll back together.
 */
export async function recordAudit(manager: EntityManager, actor: string, entries: AuditEntry[], at = new Date()): Promise<void> {
  if (entries.length === 0) return;
  await manager.insert(
    AuditEvent,
    entries.map((entry) => ({
      id: randomUUID(),
      occurredAt: at,
      actor,
      operation: entry.operation,
      entityType: entry.entityType,
      entityId: entry.entity.id,
      entityName: entry.entity.name,
      changes: entry.changes ?? [],
    })),
  );
}

/** The fields whose values differ between `before` and `after` (either may be absent: create, delete). */
export function diff<T extends object>(fields: readonly (keyof T & string)[], before: T | null, after: T | null): AuditChange[] {
  const changes: AuditChange[] = [];
  for (const field of fields) {
    const oldValue = before ? auditValue(before[field]) : null;
    const newValue = after ? auditValue(after[field]) : null;
    if (JSON.stringify(oldValue) !== JSON.stringify(newValue)) changes.push({ field, oldValue, newValue });
  }
  return changes;
}

function auditValue(value: unknown): AuditValue {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.toISOString();
  return value as AuditValue;
}
