import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintToken } from '../src/auth/tokens';
import { loadConfig } from '../src/config';
import { createDataSource } from '../src/db/data-source';
import { runPendingMigrations } from '../src/db/migrate';
import { migrations } from '../src/db/migrations';
import { GaleraCluster, galeraAvailable, startGaleraCluster } from './helpers/galera-cluster';
import { CREATE_GROUP, CREATE_IMAGE, SET_IMAGE_GROUPS, UPDATE_IMAGE } from './helpers/operations';
import { ServiceProcess, startServiceProcess } from './helpers/service-process';
import { TEST_JWT_SECRET, TEST_SECRETS_KEY } from './helpers/test-app';
import { onMysql } from './helpers/test-database';

// The service on a 3-node MariaDB Galera cluster on loopback: two replicas, each on its own node
// (sequential host selection with the hosts in different orders), one Apollo-less HTTP client
// driving both. Runs with the MariaDB suite; CI installs galera-4 and refuses to skip it.

if (process.env.CI === 'true' && onMysql() && !galeraAvailable()) throw new Error('CI=true: galera-4 and rsync must be installed (.ci/run does)');
const run = onMysql() && galeraAvailable();

const ARTIFACTS = join(__dirname, '..', 'test-artifacts');

interface Answer<T = Record<string, unknown>> {
  ok: boolean;
  data?: T;
  code?: string;
  field?: unknown;
  message?: string;
}

interface Replica {
  name: string;
  service: ServiceProcess;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<Answer<T>>;
  readyz(): Promise<{ status: number; body: { checks?: Record<string, string>; databaseHosts?: Record<string, string> } }>;
  metrics(): Promise<string>;
}

let cluster: GaleraCluster;
let replicas: Replica[] = [];
let token: string;

async function startReplica(name: string, order: number[]): Promise<Replica> {
  const service = await startServiceProcess({
    NODE_ENV: 'production',
    DATABASE_URL: cluster.url(order),
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    SECRETS_KEY: TEST_SECRETS_KEY,
    DB_POOL_SIZE: '4',
  });
  const gql = async <T,>(query: string, variables?: Record<string, unknown>): Promise<Answer<T>> => {
    try {
      const response = await fetch(service.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await response.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string; field?: unknown } }[] };
      if (body.errors?.length) return { ok: false, code: body.errors[0].extensions?.code ?? 'NO_CODE', field: body.errors[0].extensions?.field, message: body.errors[0].message };
      return { ok: true, data: body.data };
    } catch {
      return { ok: false, code: 'NO_ANSWER' };
    }
  };
  return {
    name,
    service,
    gql,
    readyz: async () => {
      const response = await fetch(new URL('/readyz', service.url));
      return { status: response.status, body: (await response.json()) as { checks?: Record<string, string>; databaseHosts?: Record<string, string> } };
    },
    metrics: async () => (await fetch(new URL('/metrics', service.url))).text(),
  };
}

async function rowsOn<T>(node: number, sql: string, params: unknown[] = []): Promise<T[]> {
  const connection = await cluster.nodes[node - 1].connect(cluster.database);
  try {
    const [rows] = await connection.query(sql, params);
    return rows as T[];
  } finally {
    await connection.end();
  }
}

function retriesFrom(metrics: string): number {
  return [...metrics.matchAll(/^image_catalog_db_transaction_retries_total\{reason="deadlock_or_certification"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

(run ? describe : describe.skip)('on a 3-node MariaDB Galera cluster', () => {
  beforeAll(async () => {
    cluster = await startGaleraCluster(3);
    console.log(`galera: 3 nodes synced in ${cluster.formedMs} ms`);
    token = await mintToken(new TextEncoder().encode(TEST_JWT_SECRET), loadConfig({ AUTH_JWT_SECRET: TEST_JWT_SECRET }).auth, { sub: 'galera-admin', admin: true });
  }, 120_000);

  afterAll(async () => {
    for (const { service } of replicas) {
      if (service.child.exitCode === null) {
        service.child.kill('SIGTERM');
        await service.exited;
      }
    }
    await cluster?.destroy();
  }, 60_000);

  it('lets replicas that start together on different nodes migrate one database once, and every table has a primary key', async () => {
    await cluster.createDatabase('catalog_migrations');
    const dataSources = [1, 2, 3].map((node) => createDataSource(loadConfig({ DATABASE_URL: cluster.url([node], 'catalog_migrations') }).database, { poolSize: 2 }));
    try {
      await Promise.all(dataSources.map((dataSource) => dataSource.initialize()));
      const applied = await Promise.all(dataSources.map((dataSource) => runPendingMigrations(dataSource)));
      expect(applied.map((list) => list.length).sort()).toEqual([0, 0, migrations.length]);
    } finally {
      await Promise.all(dataSources.map((dataSource) => dataSource.isInitialized && dataSource.destroy()));
    }
    for (const node of [1, 2, 3]) {
      const names = await rowsOn<{ name: string }>(node, 'SELECT name FROM catalog_migrations.migrations');
      expect(names).toHaveLength(migrations.length);
    }
    // Galera replicates rows by primary key: a table without one would replicate slowly and unsafely.
    const withoutKey = await rowsOn<{ TABLE_NAME: string }>(
      3,
      `SELECT t.TABLE_NAME FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = 'catalog_migrations' AND NOT EXISTS
         (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY')`,
    );
    expect(withoutKey).toEqual([]);
  }, 60_000);

  it('spreads its connections over every node with hostSelection=round-robin, and sees its own writes on each', async () => {
    const dataSource = createDataSource(loadConfig({ DATABASE_URL: `${cluster.url([1, 2, 3], 'catalog_migrations')}?hostSelection=round-robin` }).database, { poolSize: 2 });
    await dataSource.initialize();
    try {
      // Six statements at once need six connections: two per node.
      const nodes = await Promise.all(Array.from({ length: 6 }, () => dataSource.query("SELECT @@wsrep_node_name AS node, @@session.wsrep_sync_wait AS syncWait, SLEEP(0.3) AS s")));
      expect(new Set(nodes.map(([row]: { node: string }[]) => row.node))).toEqual(new Set(['node1', 'node2', 'node3']));
      // wsrepSyncWait=1 (the default): a read waits until its node has applied every earlier write.
      expect(nodes.map(([row]: { syncWait: number }[]) => Number(row.syncWait))).toEqual([1, 1, 1, 1, 1, 1]);
      await dataSource.query(`CREATE TABLE IF NOT EXISTS ryw (id INT PRIMARY KEY, v INT)`);
      for (let i = 0; i < 30; i++) {
        await dataSource.query('INSERT INTO ryw VALUES (?, ?)', [i, i]);
        // Likely on another node than the insert.
        expect(await dataSource.query('SELECT v FROM ryw WHERE id = ?', [i])).toEqual([{ v: i }]);
      }
    } finally {
      await dataSource.destroy();
    }
  });

  it('runs two replicas on two different nodes, started together', async () => {
    replicas = await Promise.all([startReplica('A', [1, 2, 3]), startReplica('B', [2, 3, 1])]);
    for (const replica of replicas) expect(await replica.readyz()).toMatchObject({ status: 200, body: { checks: { database: 'ok', migrations: 'ok' } } });
    // Each replica's connections are on its own first node.
    const clients = async (node: number) =>
      (await rowsOn<{ n: number }>(node, "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND DB = ?", [cluster.user, cluster.database]))[0].n;
    expect(Number(await clients(1))).toBeGreaterThan(0);
    expect(Number(await clients(2))).toBeGreaterThan(0);
    expect(Number(await clients(3))).toBe(0);
  }, 60_000);

  describe('keeps its invariants with writes through different nodes', () => {
    const [a, b] = [() => replicas[0], () => replicas[1]];
    const through = (i: number) => (i % 2 === 0 ? a() : b());

    it('unique names: of concurrent creates of one name, exactly one succeeds and the rest are CONFLICTs on the name', async () => {
      const before = retriesFrom((await a().metrics()) + (await b().metrics()));
      for (let round = 0; round < 3; round++) {
        const name = `same-name-${round}`;
        const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => through(i).gql(CREATE_IMAGE, { input: { name, url: `lab/${name}:${i}` } })));
        expect(answers.filter((answer) => answer.ok)).toHaveLength(1);
        for (const answer of answers.filter((x) => !x.ok)) expect(answer).toMatchObject({ code: 'CONFLICT', field: 'name' });
        for (const node of [1, 2, 3]) {
          await cluster.waitUntilSynced();
          expect(await rowsOn(node, 'SELECT id FROM images WHERE name = ?', [name])).toHaveLength(1);
        }
      }
      // Writes really met on different nodes: Galera refused some at certification, and they were rerun.
      const after = retriesFrom((await a().metrics()) + (await b().metrics()));
      console.log(`galera: ${after - before} transactions rerun after a certification failure (unique names)`);
    }, 60_000);

    it('expectedVersion: of concurrent updates expecting one version, exactly one applies; one audit event', async () => {
      const created = await a().gql<{ createImage: { id: string; version: number } }>(CREATE_IMAGE, { input: { name: 'versioned', url: 'lab/versioned:1' } });
      const { id } = created.data!.createImage;
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => through(i).gql(UPDATE_IMAGE, { id, input: { description: `writer ${i}`, expectedVersion: 1 } })),
      );
      const winners = answers.flatMap((answer, i) => (answer.ok ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const answer of answers.filter((x) => !x.ok)) expect(answer.code).toBe('CONFLICT');
      await cluster.waitUntilSynced();
      for (const node of [1, 2, 3]) {
        expect(await rowsOn(node, 'SELECT description, version FROM images WHERE id = ?', [id])).toEqual([{ description: `writer ${winners[0]}`, version: 2 }]);
        expect(await rowsOn(node, "SELECT operation FROM audit_events WHERE entityId = ? AND operation = 'UPDATE'", [id])).toHaveLength(1);
      }
    }, 60_000);

    it('setImageGroups: concurrent replacements leave exactly one requested set, and one audit event and version per success', async () => {
      const groupIds: string[] = [];
      for (let i = 0; i < 4; i++) {
        const group = await through(i).gql<{ createGroup: { id: string } }>(CREATE_GROUP, { input: { name: `galera-team-${i}` } });
        groupIds.push(group.data!.createGroup.id);
      }
      const created = await b().gql<{ createImage: { id: string } }>(CREATE_IMAGE, { input: { name: 'grouped', url: 'lab/grouped:1' } });
      const { id } = created.data!.createImage;
      const sets = [[0, 1], [2, 3], [0, 2, 3], [1], [3], [0, 1, 2, 3]].map((set) => set.map((i) => groupIds[i]).sort());
      const answers = await Promise.all(sets.map((set, i) => through(i).gql(SET_IMAGE_GROUPS, { imageId: id, groupIds: set })));
      for (const answer of answers.filter((x) => !x.ok)) expect(answer.code).toBe('CONFLICT');
      const successes = answers.filter((answer) => answer.ok).length;
      expect(successes).toBeGreaterThan(0);
      await cluster.waitUntilSynced();
      for (const node of [1, 2, 3]) {
        const linked = (await rowsOn<{ groupId: string }>(node, 'SELECT groupId FROM image_group_links WHERE imageId = ? ORDER BY groupId', [id])).map((row) => row.groupId);
        expect(sets).toContainEqual(linked);
        expect(await rowsOn(node, "SELECT id FROM audit_events WHERE entityId = ? AND operation = 'SET_GROUPS'", [id])).toHaveLength(successes);
        expect(await rowsOn(node, 'SELECT version FROM images WHERE id = ?', [id])).toEqual([{ version: 1 + successes }]);
      }
    }, 60_000);
  });

  it('keeps serving while a node is killed and comes back: every acknowledged mutation is there as acknowledged, nothing half-applied', async () => {
    const groupIds: string[] = [];
    for (let i = 0; i < 3; i++) groupIds.push((await replicas[0].gql<{ createGroup: { id: string } }>(CREATE_GROUP, { input: { name: `failover-team-${i}` } })).data!.createGroup.id);
    const load = new FailoverLoad(replicas, groupIds);
    const running = load.run(6);
    await sleep(3_000);

    // Replica A's node.
    load.mark('killed');
    await cluster.nodes[0].kill();
    await sleep(2_500);
    const readyz = await replicas[0].readyz();
    expect(readyz.status).toBe(200);
    expect(readyz.body.databaseHosts).toMatchObject({ [cluster.nodes[0].address]: 'down', [cluster.nodes[1].address]: 'up' });
    await sleep(2_500);

    load.mark('restarting');
    await cluster.nodes[0].start();
    load.mark('rejoined');
    // Long enough for replica A to try its first node again (host-pool.ts retries after 5 s).
    await sleep(6_000);
    load.mark('after');
    await sleep(2_000);
    await load.stop(running);
    await cluster.waitUntilSynced();

    const report = {
      ...load.report(),
      // What the replicas logged about each failure: the operation and the cause's code.
      logged: replicas.flatMap((replica) => replica.service.output().split('\n').filter((line) => line.includes('Database unavailable')).map((line) => `${replica.name}: ${(JSON.parse(line) as { msg: string }).msg}`)),
    };
    console.log(`galera failover: ${JSON.stringify(report, null, 2)}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'galera-failover.json'), `${JSON.stringify(report, null, 2)}\n`);
    expect(report.total.requests).toBeGreaterThan(100);
    // A write that finally fails says so with one of two codes; nothing is masked as a server error.
    expect(Object.keys(report.total.errorsByCode).filter((code) => !/^(SERVICE_UNAVAILABLE|CONFLICT|NO_ANSWER)\b/.test(code))).toEqual([]);
    // Replica A went back to node 1 once it had rejoined (a host out of turn is retried after 5 s).
    expect(Number((await rowsOn<{ n: number }>(1, 'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND DB = ?', [cluster.user, cluster.database]))[0].n)).toBeGreaterThan(0);

    // The same data on every node.
    for (const table of ['images', 'image_group_links', 'audit_events']) {
      const sums = await Promise.all([1, 2, 3].map(async (node) => (await rowsOn<{ Checksum: number }>(node, `CHECKSUM TABLE ${table}`))[0].Checksum));
      expect(new Set(sums).size).toBe(1);
    }
    const images = await rowsOn<{ id: string; name: string; description: string; version: number }>(3, "SELECT id, name, description, version FROM images WHERE name LIKE 'load-%'");
    const links = await rowsOn<{ imageId: string; groupId: string }>(3, 'SELECT imageId, groupId FROM image_group_links');
    const audits = await rowsOn<{ entityId: string; n: number }>(3, "SELECT entityId, COUNT(*) AS n FROM audit_events WHERE entityType = 'IMAGE' GROUP BY entityId");
    const found = new Map(
      images.map((row) => [
        row.name,
        {
          description: row.description,
          version: row.version,
          groups: links.filter((link) => link.imageId === row.id).map((link) => link.groupId).sort(),
          audited: Number(audits.find((a) => a.entityId === row.id)?.n ?? 0),
        },
      ]),
    );
    const verdicts = load.tracked.map((image) => ({ name: image.name, fits: fits(image, found.get(image.name)) }));
    expect(verdicts.filter((v) => !v.fits)).toEqual([]);
    expect(load.tracked.filter((image) => image.acked).length).toBeGreaterThan(20);
    // Nothing appeared that no request asked for.
    expect([...found.keys()].filter((name) => !load.tracked.some((image) => image.name === name))).toEqual([]);

    // Both replicas serve reads and writes again, on the same processes.
    for (const replica of replicas) {
      for (let i = 0; i < 5; i++) {
        expect(await replica.gql(CREATE_IMAGE, { input: { name: `after-${replica.name.toLowerCase()}-${i}`, url: 'lab/after:1' } })).toMatchObject({ ok: true });
        expect(await replica.gql('{ images(first: 5) { totalCount } }')).toMatchObject({ ok: true });
      }
      expect(replica.service.child.exitCode).toBeNull();
    }
  }, 120_000);

  it('is not ready while no node can be reached, and says which hosts it has', async () => {
    await Promise.all(cluster.nodes.map((node) => node.kill()));
    for (const replica of replicas) {
      const readyz = await replica.readyz();
      expect(readyz).toMatchObject({ status: 503, body: { checks: { database: 'unreachable' } } });
      expect(Object.values(readyz.body.databaseHosts ?? {})).toEqual(['down', 'down', 'down']);
      expect(await replica.gql('{ images(first: 1) { totalCount } }')).toMatchObject({ ok: false, code: 'SERVICE_UNAVAILABLE' });
    }
  }, 30_000);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ImageState {
  description: string;
  version: number;
  groups: string[];
}

/** One image a load worker owns: its last acknowledged state, and a change whose outcome is unknown. */
interface Tracked {
  name: string;
  id?: string;
  /** The state the last acknowledgement reported; undefined until its create was acknowledged. */
  acked?: ImageState;
  /** Acknowledged mutations (each writes one audit event). */
  mutations: number;
  /** A mutation that failed without saying it was not applied: either it applied wholly, or not at all. */
  unknown?: ImageState;
}

/** What was found for an image fits what the requests were told: the acknowledged state, or the unknown change wholly applied. */
function fits(image: Tracked, found: (ImageState & { audited: number }) | undefined): boolean {
  const same = (state: ImageState | undefined, audited: number) =>
    state !== undefined && found !== undefined && found.description === state.description && found.version === state.version && JSON.stringify(found.groups) === JSON.stringify(state.groups) && found.audited === audited;
  if (!image.acked) return found === undefined || same(image.unknown, 1);
  return same(image.acked, image.mutations) || same(image.unknown, image.mutations + 1);
}

interface Outcome {
  at: number;
  phase: string;
  ok: boolean;
  /** The error's code, and for SERVICE_UNAVAILABLE whether the outcome of a commit is unknown. */
  code?: string;
  write: boolean;
}

/**
 * Workers, half on each replica, each mutating images of its own (so the expected state of each is
 * known): creates, updates with expectedVersion, setImageGroups, and reads. A mutation that fails
 * with CONFLICT is known not to have applied; after any other failure the image is left alone.
 */
class FailoverLoad {
  readonly tracked: Tracked[] = [];
  private readonly outcomes: Outcome[] = [];
  private phase = 'before';
  private stopping = false;
  private counter = 0;

  constructor(
    private readonly replicas: Replica[],
    private readonly groupIds: string[],
  ) {}

  mark(phase: string): void {
    this.phase = phase;
  }

  run(workers: number): Promise<void> {
    return Promise.all(Array.from({ length: workers }, (_, w) => this.worker(w))).then(() => undefined);
  }

  async stop(running: Promise<void>): Promise<void> {
    this.stopping = true;
    await running;
  }

  private async worker(w: number): Promise<void> {
    const replica = this.replicas[w % this.replicas.length];
    const mine: Tracked[] = [];
    while (!this.stopping) {
      const usable = mine.filter((image) => image.acked && !image.unknown);
      const dice = Math.random();
      if (usable.length === 0 || dice < 0.25) await this.create(replica, mine, w);
      else if (dice < 0.5) await this.update(replica, usable[Math.floor(Math.random() * usable.length)]);
      else if (dice < 0.7) await this.setGroups(replica, usable[Math.floor(Math.random() * usable.length)]);
      else await this.read(replica);
    }
  }

  private record(answer: Answer, write: boolean): void {
    const code = answer.message?.includes('may or may not have been applied') ? `${answer.code} (lost during COMMIT)` : answer.code;
    this.outcomes.push({ at: Date.now(), phase: this.phase, ok: answer.ok, code: answer.ok ? undefined : `${code}${write ? ', write' : ', read'}`, write });
  }

  private async create(replica: Replica, mine: Tracked[], w: number): Promise<void> {
    const image: Tracked = { name: `load-${w}-${this.counter++}`, mutations: 0 };
    mine.push(image);
    this.tracked.push(image);
    const groups = this.someGroups([]);
    const state: ImageState = { description: `created by worker ${w}`, version: 1, groups };
    const answer = await replica.gql<{ createImage: { id: string } }>(CREATE_IMAGE, { input: { name: image.name, url: 'lab/load:1', description: state.description, groupIds: groups } });
    this.record(answer, true);
    if (answer.ok) Object.assign(image, { id: answer.data!.createImage.id, acked: state, mutations: 1 });
    else if (answer.code !== 'CONFLICT') image.unknown = state;
  }

  private async update(replica: Replica, image: Tracked): Promise<void> {
    const current = image.acked!;
    const next: ImageState = { ...current, description: `update ${this.counter++}`, version: current.version + 1 };
    const answer = await replica.gql(UPDATE_IMAGE, { id: image.id, input: { description: next.description, expectedVersion: current.version } });
    this.settle(image, answer, next);
  }

  private async setGroups(replica: Replica, image: Tracked): Promise<void> {
    const current = image.acked!;
    const next: ImageState = { ...current, groups: this.someGroups(current.groups), version: current.version + 1 };
    const answer = await replica.gql(SET_IMAGE_GROUPS, { imageId: image.id, groupIds: next.groups });
    this.settle(image, answer, next);
  }

  private async read(replica: Replica): Promise<void> {
    this.record(await replica.gql('{ images(first: 20, filter: { search: "load-" }) { totalCount nodes { name groups { name } } } }'), false);
  }

  private settle(image: Tracked, answer: Answer, next: ImageState): void {
    this.record(answer, true);
    if (answer.ok) {
      image.acked = next;
      image.mutations++;
    } else if (answer.code !== 'CONFLICT') image.unknown = next;
  }

  /** A sorted subset of the groups, different from `current`. */
  private someGroups(current: string[]): string[] {
    for (;;) {
      const set = this.groupIds.filter(() => Math.random() < 0.5).sort();
      if (JSON.stringify(set) !== JSON.stringify(current)) return set;
    }
  }

  report() {
    const summarize = (outcomes: Outcome[]) => {
      const errors = outcomes.filter((o) => !o.ok);
      const errorsByCode: Record<string, number> = {};
      for (const error of errors) errorsByCode[error.code ?? '?'] = (errorsByCode[error.code ?? '?'] ?? 0) + 1;
      return {
        requests: outcomes.length,
        writes: outcomes.filter((o) => o.write).length,
        errors: errors.length,
        errorRate: outcomes.length ? Number((errors.length / outcomes.length).toFixed(4)) : 0,
        errorsByCode,
      };
    };
    const phases = ['before', 'killed', 'restarting', 'rejoined', 'after'];
    const times = phases.map((phase) => this.outcomes.filter((o) => o.phase === phase).map((o) => o.at));
    return {
      total: summarize(this.outcomes),
      byPhase: Object.fromEntries(
        phases.map((phase, i) => [phase, { seconds: times[i].length ? Number(((Math.max(...times[i]) - Math.min(...times[i])) / 1000).toFixed(1)) : 0, ...summarize(this.outcomes.filter((o) => o.phase === phase)) }]),
      ),
      images: { tracked: this.tracked.length, acknowledged: this.tracked.filter((t) => t.acked).length, outcomeUnknown: this.tracked.filter((t) => t.unknown).length },
    };
  }
}
