import { DataSource } from 'typeorm';
import { Connection } from '../db/connection';
import { paginate, PageArgs } from '../db/keyset-pagination';
import { isRecordId } from '../db/record-id';
import type { AuditEventFilter } from '../generated/graphql';
import { AuditEvent } from './audit-event.entity';

const NEWEST_FIRST = { field: 'OCCURRED_AT', property: 'occurredAt', direction: 'DESC' } as const;

export class AuditService {
  constructor(private readonly dataSource: DataSource) {}

  list(filter: AuditEventFilter | null | undefined, page: PageArgs): Promise<Connection<AuditEvent>> {
    const qb = this.dataSource.getRepository(AuditEvent).createQueryBuilder('event');
    if (filter?.entityType != null) qb.andWhere('event.entityType = :entityType', { entityType: filter.entityType });
    if (filter?.entityId != null) {
      if (isRecordId(filter.entityId)) qb.andWhere('event.entityId = :entityId', { entityId: filter.entityId });
      else qb.andWhere('1 = 0');
    }
    if (filter?.actor != null) qb.andWhere('event.actor = :actor', { actor: filter.actor });
    return paginate(qb, NEWEST_FIRST, page);
  }
}
