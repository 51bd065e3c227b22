import * as mysql2 from 'mysql2';
import type { Pool, PoolConnection, PoolOptions } from 'mysql2';
import { databaseUnavailableCause } from './database-unavailable';

export interface DatabaseHost {
  host: string;
  port: number;
}

/**
 * sequential: every connection goes to the first usable host in the order given (one writer node
 * per replica, so Galera never has to certify this replica's writes against each other);
 * round-robin: connections rotate over the usable hosts.
 */
export type HostSelection = 'sequential' | 'round-robin';

export interface HostPoolOptions {
  hosts: DatabaseHost[];
  selection: HostSelection;
  /** SET SESSION wsrep_sync_wait on connections to Galera nodes; undefined leaves the server's. */
  wsrepSyncWait?: number;
  /** How long a host that failed stays behind the others before it is tried first again. */
  retryDownHostMs?: number;
}

export interface HostStatus {
  address: string;
  up: boolean;
}

const DEFAULT_RETRY_DOWN_HOST_MS = 5_000;
/** Longer than the connect timeout (data-source.ts), so a host that refuses or times out says so first. */
const HOST_DEADLINE_MS = 5_000;

class HostTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  readonly fatal = true;
  constructor() {
    super('no connection from this host in time');
  }
}

/** A Galera node that accepts connections but is not part of the primary component (yet). */
export class NodeNotReadyError extends Error {
  readonly code = 'WSREP_NOT_READY';
  readonly fatal = true;
}

interface Host {
  address: string;
  pool: Pool;
  downUntil: number;
  /** Raised each time the host is found down: connections from before are not handed out again. */
  generation: number;
}

interface Prepared {
  host: Host;
  generation: number;
}

type Callback = (error: Error | null, connection?: PoolConnection) => void;

/**
 * What TypeORM's MySQL driver uses of a mysql2 pool (getConnection, end), over one mysql2 pool per
 * host. A host whose connection fails, or whose connections report it gone or not ready, goes
 * behind the others for `retryDownHostMs` and its older connections are dropped as they come
 * back; when every host is down, all are tried, so the first to return serves at once.
 * mysql2's own PoolCluster was not enough: it counts only failures to connect, not a node that
 * accepts connections while it is still joining, nor connections that die under a query.
 */
export class HostPool {
  private readonly hosts: Host[];
  private readonly prepared = new WeakMap<PoolConnection, Prepared>();
  private readonly retryDownHostMs: number;
  private turn = 0;

  constructor(
    private readonly poolOptions: PoolOptions,
    private readonly options: HostPoolOptions,
  ) {
    this.retryDownHostMs = options.retryDownHostMs ?? DEFAULT_RETRY_DOWN_HOST_MS;
    this.hosts = options.hosts.map(({ host, port }) => ({
      address: `${host}:${port}`,
      pool: mysql2.createPool({ ...poolOptions, host, port }),
      downUntil: 0,
      generation: 0,
    }));
  }

  getConnection(callback: Callback): void {
    this.acquire().then(
      (connection) => callback(null, connection),
      (error: Error) => callback(error),
    );
  }

  end(callback: (error?: Error | null) => void): void {
    Promise.all(this.hosts.map((host) => new Promise<void>((resolve, reject) => host.pool.end((error) => (error ? reject(error) : resolve()))))).then(
      () => callback(null),
      (error: Error) => callback(error),
    );
  }

  status(): HostStatus[] {
    const now = Date.now();
    return this.hosts.map((host) => ({ address: host.address, up: host.downUntil <= now }));
  }

  /** Connections open and idle over all hosts (mysql2 keeps them in fields it does not document). */
  connections(): { all: number; idle: number } {
    let all = 0;
    let idle = 0;
    for (const { pool } of this.hosts) {
      const internals = pool as unknown as { _allConnections?: { length: number }; _freeConnections?: { length: number } };
      all += internals._allConnections?.length ?? 0;
      idle += internals._freeConnections?.length ?? 0;
    }
    return { all, idle };
  }

  private async acquire(): Promise<PoolConnection> {
    let lastError: Error | undefined;
    const candidates = this.candidates();
    for (const host of candidates) {
      try {
        const connection = await (candidates.length > 1 ? this.withinDeadline(this.connectionFrom(host)) : this.connectionFrom(host));
        host.downUntil = 0;
        return connection;
      } catch (error) {
        lastError = error as Error;
        this.markDown(host);
      }
    }
    throw lastError ?? new Error('no database host configured');
  }

  /**
   * A host that drops packets instead of refusing them (a partition, a frozen server) would hold a
   * request in its pool's queue for as long as it likes; with other hosts to try, waiting ends
   * after HOST_DEADLINE_MS, and a connection that arrives later goes back to its pool.
   */
  private withinDeadline(pending: Promise<PoolConnection>): Promise<PoolConnection> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        pending.then((late) => late.release(), () => undefined);
        reject(new HostTimeoutError());
      }, HOST_DEADLINE_MS);
    });
    return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
  }

  /** Usable hosts in selection order, then the others, the soonest to be retried first. */
  private candidates(): Host[] {
    const now = Date.now();
    const up = this.hosts.filter((host) => host.downUntil <= now);
    const down = this.hosts.filter((host) => host.downUntil > now).sort((a, b) => a.downUntil - b.downUntil);
    if (this.options.selection === 'round-robin' && up.length > 1) {
      const start = this.turn++ % up.length;
      return [...up.slice(start), ...up.slice(0, start), ...down];
    }
    return [...up, ...down];
  }

  private async connectionFrom(host: Host): Promise<PoolConnection> {
    for (;;) {
      const connection = await new Promise<PoolConnection>((resolve, reject) => host.pool.getConnection((error, c) => (error ? reject(error) : resolve(c))));
      const known = this.prepared.get(connection);
      if (known && known.generation === host.generation) return connection;
      if (known) {
        // Opened before the host was last found down: probably dead; a fresh one is cheap.
        connection.destroy();
        continue;
      }
      try {
        await this.prepare(connection);
      } catch (error) {
        connection.destroy();
        throw error;
      }
      this.prepared.set(connection, { host, generation: host.generation });
      this.watch(connection, host);
      return connection;
    }
  }

  /**
   * A Galera node answers while it is joining or cut off from the primary component, but refuses
   * statements; such a node is not handed out. MySQL has no wsrep_on (an empty answer).
   */
  private async prepare(connection: PoolConnection): Promise<void> {
    const wsrep = await rows(connection, "SHOW VARIABLES LIKE 'wsrep_on'");
    if (wsrep[0]?.Value !== 'ON') return;
    const ready = await rows(connection, "SHOW STATUS LIKE 'wsrep_ready'");
    if (ready[0]?.Value !== 'ON') throw new NodeNotReadyError('the Galera node is not ready for queries');
    if (this.options.wsrepSyncWait !== undefined) await rows(connection, `SET SESSION wsrep_sync_wait = ${this.options.wsrepSyncWait}`);
  }

  /**
   * Errors that say the host is gone or out of the cluster take it out of turn. And TypeORM's
   * `connection.promise().query(...)` gets a plain promise: mysql2's captures a stack trace for
   * every statement, a measurable cost on the hot path for a trace nobody reads.
   */
  private watch(connection: PoolConnection, host: Host): void {
    const query = connection.query.bind(connection) as (...args: unknown[]) => unknown;
    const target = connection as unknown as { query: (...args: unknown[]) => unknown; promise: () => unknown };
    const promised = {
      query: (sql: unknown, values?: unknown) =>
        new Promise((resolve, reject) => target.query(sql, values, (error: unknown, rows: unknown, fields: unknown) => (error ? reject(error) : resolve([rows, fields])))),
    };
    target.promise = () => promised;
    target.query = (...args: unknown[]) => {
      const at = args.findIndex((arg) => typeof arg === 'function');
      if (at >= 0) {
        const callback = args[at] as (error: unknown, ...rest: unknown[]) => void;
        args[at] = (error: unknown, ...rest: unknown[]) => {
          if (error && hostFailure(error)) this.markDown(host);
          callback(error, ...rest);
        };
      }
      return query(...args);
    };
  }

  private markDown(host: Host): void {
    const now = Date.now();
    if (host.downUntil <= now) host.generation++;
    host.downUntil = now + this.retryDownHostMs;
  }
}

/** errno 1047: WSREP has not yet prepared node for application use. */
function hostFailure(error: unknown): boolean {
  return (error as { errno?: number }).errno === 1047 || databaseUnavailableCause(error) !== undefined;
}

function rows(connection: PoolConnection, sql: string): Promise<{ Value?: string }[]> {
  return new Promise((resolve, reject) => connection.query(sql, (error, result) => (error ? reject(error) : resolve(result as { Value?: string }[]))));
}

/** A stand-in for the mysql2 module TypeORM's driver loads, whose createPool makes a HostPool. */
export function hostPoolDriver(options: HostPoolOptions): typeof mysql2 {
  return Object.create(mysql2, {
    createPool: { value: (poolOptions: PoolOptions) => new HostPool(poolOptions, options) },
  }) as typeof mysql2;
}
