import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface PoolStats {
  inUse: number;
  idle: number;
}

/** What the metrics read from the database layer when scraped. */
export interface DatabaseGauges {
  poolStats(): PoolStats;
  /** How many SQL statements the service has sent so far (its TypeORM logger counts them). */
  statements(): number;
  /** Transactions run again, by why (transaction.ts). */
  transactionRetries(): ReadonlyMap<string, number>;
  /** Each configured MySQL/MariaDB host and whether it is in turn (host-pool.ts); none on SQLite. */
  hosts(): { address: string; up: boolean }[];
}

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_OPERATION_LABELS = 200;

/** The service's Prometheus metrics, in a registry of its own (tests run several servers in one process). */
export class Metrics {
  readonly registry = new Registry();
  private readonly operations = new Set<string>();

  private readonly requests = new Counter({
    name: 'image_catalog_graphql_requests_total',
    help: 'GraphQL requests by operation name and outcome (success or error)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly duration = new Histogram({
    name: 'image_catalog_graphql_request_duration_seconds',
    help: 'GraphQL request latency by operation name and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly errors = new Counter({
    name: 'image_catalog_graphql_errors_total',
    help: 'GraphQL errors sent to callers, by extensions.code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  /** Operations graphql-jit compiled: a new one each time clients send a query text not seen twice before. */
  readonly compiledOperations = new Counter({
    name: 'image_catalog_graphql_compiled_operations_total',
    help: 'Operations compiled by graphql-jit (on their second run)',
    registers: [this.registry],
  });

  /** References checked against their registries, by the state the check found. */
  readonly registryChecks = new Counter({
    name: 'image_catalog_registry_checks_total',
    help: 'Image references checked against their registries, by resulting state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  /** Image checks queued or running: a queue that never drains means registries answer slower than images change. */
  readonly registryCheckBacklog = new Gauge({
    name: 'image_catalog_registry_check_backlog',
    help: 'Image checks queued or running',
    registers: [this.registry],
  });

  constructor(database: DatabaseGauges) {
    new Counter({
      name: 'image_catalog_db_statements_total',
      help: 'SQL statements sent to the database',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(database.statements());
      },
    });
    new Counter({
      name: 'image_catalog_db_transaction_retries_total',
      help: 'Transactions run again after the database rolled them back (deadlock or Galera certification failure, lock wait, node not ready, connection lost before COMMIT, concurrent change)',
      labelNames: ['reason'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [reason, count] of database.transactionRetries()) this.inc({ reason }, count);
      },
    });
    new Gauge({
      name: 'image_catalog_db_host_up',
      help: 'Each database host of DATABASE_URL: 1 while it is in turn, 0 while it is kept out after a failure',
      labelNames: ['host'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { address, up } of database.hosts()) this.set({ host: address }, up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'image_catalog_db_pool_connections',
      help: 'Database connections by state (in_use, idle)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const stats = database.poolStats();
        this.set({ state: 'in_use' }, stats.inUse);
        this.set({ state: 'idle' }, stats.idle);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** `resolved`: GraphQL parsed the operation; only such names may take a new label. */
  record(operation: string, outcome: 'success' | 'error' | 'aborted', seconds: number, errorCodes: string[], resolved: boolean): void {
    const label = this.operationLabel(operation, resolved);
    this.requests.inc({ operation: label, outcome });
    this.duration.observe({ operation: label, outcome }, seconds);
    for (const code of errorCodes) this.errors.inc({ code });
  }

  /** Callers choose operation names: odd ones, or more than a bounded number, share one label. */
  private operationLabel(operation: string, resolved: boolean): string {
    if (operation === 'anonymous') return operation;
    if (!OPERATION_NAME.test(operation)) return 'other';
    if (this.operations.has(operation)) return operation;
    if (!resolved || this.operations.size >= MAX_OPERATION_LABELS) return 'other';
    this.operations.add(operation);
    return operation;
  }
}
