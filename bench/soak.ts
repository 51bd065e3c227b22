/**
 * `npm run soak [-- --duration 60 --warmup 10 --connections 10 --heap-mb 128 --database-url mysql://...]`
 * `npm run soak -- --galera`: the same on a 3-node MariaDB Galera cluster it starts on loopback
 * (test/helpers/galera-cluster.ts, needs galera-4 and rsync), the service spreading its
 * connections over the three nodes (hostSelection=round-robin), so writes meet at certification.
 *
 * Runs the service (production settings, its own fresh MariaDB database) and drives it with
 * autocannon: 80% list and launcher reads, 20% mutations, from an admin and from group members.
 * Passes when there is no 5xx, no GraphQL error, RSS after the run is within 20% of RSS after the
 * warm-up, and the data is consistent afterwards. Prints its figures; exit code 1 on a failure.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { Connection, createConnection } from 'mysql2/promise';
import { startService, Service } from './support/service';
import { parseArgs } from './support/args';
import { benchDatabase } from './support/bench-database';
import { startGaleraCluster } from '../test/helpers/galera-cluster';
import { seedCatalog, SoakData } from './support/seed';
import { soakRequests, SoakCounters } from './support/soak-requests';

/**
 * The service runs with a bounded heap (`--heap-mb`), as in a container with a memory limit:
 * unbounded, V8 grows the heap lazily on a large machine and RSS rises for minutes without a
 * leak (seen: +38% over 60 s, flat at 128 MB). Bounded, a leak ends in an out-of-memory crash
 * or GC thrashing, which the checks below catch, and RSS still shows leaks outside the heap.
 */
const DEFAULTS = { duration: 60, connections: 10, warmup: 10, 'heap-mb': 128, 'database-url': 'mysql://root@127.0.0.1:3306/image_catalog_soak', galera: false };

interface SoakDatabase {
  /** What the service is given. */
  url: string;
  /** One server to read the outcome from. */
  checkUrl: string;
  drop(): Promise<void>;
}

async function soakDatabase(args: Record<string, string | number | boolean>): Promise<SoakDatabase> {
  if (!args.galera) {
    const database = await benchDatabase('mysql', String(args['database-url']));
    return { url: database.url, checkUrl: database.url, drop: () => database.drop() };
  }
  const cluster = await startGaleraCluster(3);
  console.log(`galera: 3 nodes synced in ${cluster.formedMs} ms`);
  // Read back through the node the service's connections reached last.
  return { url: `${cluster.url()}?hostSelection=round-robin`, checkUrl: cluster.url([3]), drop: () => cluster.destroy() };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), DEFAULTS);
  const duration = Number(args.duration);
  const connections = Number(args.connections);
  // The heap keeps growing for the first seconds under load; RSS is compared from after that.
  const warmup = Number(args.warmup);
  const databaseUrl = await soakDatabase(args);
  const service = await startService({ DATABASE_URL: databaseUrl.url, NODE_ENV: 'production', LOG_LEVEL: 'info', NODE_OPTIONS: `--max-old-space-size=${Number(args['heap-mb'])}` });
  let failures: string[] = [];
  try {
    const data = await seedCatalog(service);
    const counters: SoakCounters = {
      ok: 0,
      graphqlErrors: 0,
      errorSamples: [],
      creates: 0,
      deletes: 0,
      mutations: 0,
      sent: { creates: 0, deletes: 0, mutations: 0 },
      expected: new Map(),
    };
    const warm = await drive(service, data, counters, connections, warmup);
    const rssAfterWarmup = rssOf(service.pid);
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(rssOf(service.pid)), Math.max(1, duration / 10) * 1000);
    const result = await drive(service, data, counters, connections, duration).finally(() => clearInterval(sampler));
    const rssAfterRun = rssOf(service.pid);
    const consistency = await checkConsistency(databaseUrl.checkUrl, data, counters);
    const reruns = [...(await (await fetch(new URL('/metrics', service.url))).text()).matchAll(/^image_catalog_db_transaction_retries_total\{reason="(\w+)"\} (\d+)$/gm)];
    const figures = {
      duration: `${duration} s (after a ${warmup} s warm-up)`,
      connections,
      'service heap limit (MB)': Number(args['heap-mb']),
      requests: result.requests.total,
      'requests/s (mean)': Math.round(result.requests.average),
      'latency p50 / p99 (ms)': `${result.latency.p50} / ${result.latency.p99}`,
      '2xx': result['2xx'],
      'non-2xx': result.non2xx,
      '5xx': result['5xx'],
      'socket errors / timeouts': `${result.errors} / ${result.timeouts}`,
      'GraphQL errors': counters.graphqlErrors,
      'mutations acknowledged / sent': `${counters.mutations} / ${counters.sent.mutations}`,
      'created images checked field by field': counters.expected.size,
      'RSS after warm-up (MB)': mb(rssAfterWarmup),
      'RSS after run (MB)': mb(rssAfterRun),
      'RSS during the run (MB)': samples.map(mb).join(' '),
      'RSS growth': `${(((rssAfterRun - rssAfterWarmup) / rssAfterWarmup) * 100).toFixed(1)}%`,
      'transactions rerun (by reason)': reruns.map((m) => `${m[1]} ${m[2]}`).join(', ') || 'none',
      consistency: consistency.length === 0 ? 'ok' : consistency.join('; '),
    };
    console.log('\nsoak figures');
    for (const [name, value] of Object.entries(figures)) console.log(`  ${name.padEnd(38)} ${value}`);
    failures = [
      ...[warm, result].flatMap((run, i) => [
        ...(run.non2xx > 0 ? [`${run.non2xx} responses were not 2xx${i === 0 ? ' during the warm-up' : ''}`] : []),
        ...(run.errors > 0 || run.timeouts > 0 ? [`${run.errors} socket errors, ${run.timeouts} timeouts${i === 0 ? ' during the warm-up' : ''}`] : []),
      ]),
      ...(counters.graphqlErrors > 0 ? [`${counters.graphqlErrors} GraphQL errors, e.g. ${counters.errorSamples.join(' | ')}`] : []),
      ...(counters.ok === 0 ? ['no request succeeded'] : []),
      ...(rssAfterRun > rssAfterWarmup * 1.2 ? [`RSS grew from ${mb(rssAfterWarmup)} MB to ${mb(rssAfterRun)} MB (more than 20%)`] : []),
      ...consistency,
    ];
  } finally {
    await service.stop();
    await databaseUrl.drop();
  }
  if (failures.length > 0) {
    console.error(`\nsoak FAILED:\n- ${failures.join('\n- ')}`);
    process.exitCode = 1;
  } else {
    console.log('\nsoak passed');
  }
}

function drive(service: Service, data: SoakData, counters: SoakCounters, connections: number, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: service.url, connections, duration: seconds, requests: soakRequests(data, counters) },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('error', reject);
  });
}

/** What should be there, given what the service acknowledged, and nothing dangling. */
async function checkConsistency(url: string, data: SoakData, counters: SoakCounters): Promise<string[]> {
  const connection = await createConnection(url);
  try {
    const count = async (sql: string) => Number(((await connection.query(sql))[0] as { n: number }[])[0].n);
    const problems: string[] = [];
    // Requests in flight when autocannon stopped may have committed unanswered: exact only when none were.
    const between = (value: number, low: number, high: number) => value >= low && value <= high;
    const images = await count('SELECT COUNT(*) AS n FROM images');
    const [fewest, most] = [data.imageIds.length + counters.creates - counters.sent.deletes, data.imageIds.length + counters.sent.creates - counters.deletes];
    if (!between(images, fewest, most)) problems.push(`${images} images stored, ${fewest} to ${most} expected from the creates and deletes`);
    const dangling = await count(
      'SELECT COUNT(*) AS n FROM image_group_links l LEFT JOIN images i ON i.id = l.imageId LEFT JOIN user_groups g ON g.id = l.groupId WHERE i.id IS NULL OR g.id IS NULL',
    );
    if (dangling > 0) problems.push(`${dangling} links point to a missing image or group`);
    const duplicates = await count('SELECT COUNT(*) AS n FROM (SELECT name FROM images GROUP BY name HAVING COUNT(*) > 1) d');
    if (duplicates > 0) problems.push(`${duplicates} image names are taken twice`);
    problems.push(...(await compareCreatedImages(connection, counters)));
    const audited = (await count('SELECT COUNT(*) AS n FROM audit_events')) - data.seedMutations;
    if (!between(audited, counters.mutations, counters.sent.mutations)) {
      problems.push(`${audited} audit events for ${counters.mutations} acknowledged and ${counters.sent.mutations} sent mutations`);
    }
    return problems;
  } finally {
    await connection.end();
  }
}

/** Each image the soak created, as its last answered mutation left it: version, description, groups. */
async function compareCreatedImages(connection: Connection, counters: SoakCounters): Promise<string[]> {
  const ids = [...counters.expected.keys()];
  if (ids.length === 0) return ['no created image to check'];
  const [rows] = (await connection.query('SELECT id, version, description FROM images WHERE id IN (?)', [ids])) as unknown as [{ id: string; version: number; description: string | null }[]];
  const [links] = (await connection.query('SELECT imageId, groupId FROM image_group_links WHERE imageId IN (?)', [ids])) as unknown as [{ imageId: string; groupId: string }[]];
  const stored = new Map(rows.map((row) => [row.id, { ...row, groupIds: [] as string[] }]));
  for (const link of links) stored.get(link.imageId)?.groupIds.push(link.groupId);
  const wrong: string[] = [];
  for (const [id, expected] of counters.expected) {
    const actual = stored.get(id);
    const same = expected.deleted
      ? actual === undefined
      : actual !== undefined &&
        actual.version === expected.version &&
        actual.description === expected.description &&
        [...actual.groupIds].sort().join() === [...expected.groupIds].sort().join();
    if (!same) wrong.push(id);
  }
  return wrong.length === 0 ? [] : [`${wrong.length} of ${ids.length} created images differ from what the service acknowledged, e.g. ${wrong[0]}`];
}

function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
