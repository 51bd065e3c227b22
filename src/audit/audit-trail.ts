import { randomBytes } from 'node:crypto';
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
      id: timeOrderedId(at.getTime()),
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

let lastMs = 0;
let sequence = 0;

/**
 * A UUIDv7 whose 12-bit counter keeps ids from one process increasing within a millisecond: the
 * trail is ordered by time and then id, so events of one request (or of quick successive ones)
 * list in the order they were written.
 */
function timeOrderedId(nowMs: number): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastMs++;
    sequence = 0;
  }
  const time = lastMs.toString(16).padStart(12, '0');
  const random = randomBytes(8);
  random[0] = (random[0] & 0x3f) | 0x80;
  const tail = random.toString('hex');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${sequence.toString(16).padStart(3, '0')}-${tail.slice(0, 4)}-${tail.slice(4)}`;
}
