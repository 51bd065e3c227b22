/**
 * `npm run bench [-- --quick] [--db sqlite|mysql] [--database-url mysql://...] [--global-percent 3] [--only list,launcher] [--cpu-prof DIR] [--scale-sizes 1000,10000,100000]`
 *
 * Loads a 10,000-image catalog into a fresh database, runs the service on it (production settings,
 * access control on, an admin token), and drives each scenario with autocannon from this process:
 * a warm-up, then a measured run. The list and launcher requests also go to the raw floor
 * (bench/raw-floor.ts) and most to the strong floor (bench/strong-floor.ts) on MySQL/MariaDB; the
 * service and its floors then take the measured time in rounds, in turn. Prints a table; a full run (not --quick) also writes
 * bench/RESULTS.md. A full run then loads catalogs of each of --scale-sizes and measures the paths
 * that could grow with the catalog (service only, 10 connections, shorter runs) into a table in
 * RESULTS.md and bench/scale.svg. Exit code 1 when any scenario had an error; missed targets are
 * only reported.
 *
 * For finding where time goes: `--only` runs the named scenarios alone (never written to
 * RESULTS.md); `--cpu-prof DIR` has the service write a V8 CPU profile there when it stops (open it
 * in Chrome DevTools, or `npm run bench:profile -- FILE`). GRAPHQL_EXECUTION in the environment
 * reaches the service, and BENCH_NODE_ARGS (say `--max-semi-space-size=64`) joins its node flags.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseDatabaseUrl } from '../src/config';
import { parseArgs } from './support/args';
import { benchDatabase } from './support/bench-database';
import { ChildServer, startFloor } from './support/child-server';
import { DatasetShape, DEFAULT_SHAPE, loadDataset } from './support/dataset';
import { resultsMarkdown, Row, Run, ScaleRow, scaleSeries, scaleTable, table, verdicts, verdictTable } from './support/report';
import { scaleSvg } from './support/scale-plot';
import { runInterleaved, Target, Timing } from './support/run-scenario';
import { Scenario, SCENARIOS, ScenarioSetup } from './support/scenarios';
import { startService, Service } from './support/service';
import { freePort } from '../test/helpers/free-port';
import { startToReadySeconds } from './support/startup-time';

const DEFAULTS = {
  quick: false,
  db: 'mysql',
  'database-url': 'mysql://root@127.0.0.1:3306/image_catalog_bench',
  'global-percent': DEFAULT_SHAPE.globalPercent,
  connections: 50,
  only: '',
  'cpu-prof': '',
  // The catalog sizes of the scaling part of a full run (empty: none).
  'scale-sizes': '1000,10000,100000',
};
/** What the scaling part drives at each size: the paths whose cost could grow with the catalog. */
const SCALE_SCENARIOS = ['list + totalCount (page 1)', 'launcher gpu:false', 'lookup', 'federation (100 _entities)', 'search'];
const POOL_SIZE = 10;
/** A scenario with floors is measured in this many rounds per target, taken in turn. */
const ROUNDS = 4;
const DEEP_PAGE = 190;

interface SizeRun {
  rows: Row[];
  datasetLine: string;
  databaseVersion: string;
}

/**
 * One catalog of `shape.images` images in a fresh database: the service (and on MySQL/MariaDB the
 * floors, when `withFloors`) driven through each scenario in turn.
 */
async function runAtSize(kind: 'sqlite' | 'mysql', databaseUrl: string, shape: DatasetShape, scenarios: Scenario[], timing: Timing, withFloors: boolean, cpuProf: string): Promise<SizeRun> {
  const database = await benchDatabase(kind, databaseUrl);
  const rows: Row[] = [];
  try {
    const secretsKey = randomBytes(32);
    const dataset = await loadDataset(parseDatabaseUrl(database.url), secretsKey, shape);
    const datasetLine = `${shape.images} images (${shape.globalPercent}% global, ${shape.pullSecretPercent}% with one of ${shape.pullSecrets} pull secrets), ${shape.groups} groups, ${dataset.links} links; launcher group: ${dataset.launcherUsable} usable images; loaded in ${dataset.loadSeconds.toFixed(1)} s`;
    console.log(`dataset: ${datasetLine}`);
    const service = await startService({
      DATABASE_URL: database.url,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      MIGRATE_ON_START: 'true',
      DB_POOL_SIZE: String(POOL_SIZE),
      SECRETS_KEY: secretsKey.toString('base64'),
      // A fixed port: with LOG_LEVEL=warn the service logs no ready line, so /readyz is polled.
      PORT: String(await freePort()),
    }, [...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)]);
    const floorEnv = { DATABASE_URL: database.url, DB_POOL_SIZE: String(POOL_SIZE) };
    // Profiled too, so that the service's profile can be read against what the same answers cost without it.
    const floorArgs = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
    const floor = kind === 'mysql' && withFloors ? await startFloor('raw floor', floorEnv, floorArgs) : undefined;
    const strong: ChildServer | undefined = kind === 'mysql' && withFloors ? await startFloor('strong floor', floorEnv, floorArgs) : undefined;
    try {
      const deepPage = Math.min(DEEP_PAGE, Math.floor(shape.images / 50) - 10);
      const setup: ScenarioSetup = { dataset, token: await service.mint({ sub: 'bench', admin: true }), deepCursor: await cursorBeforePage(service, Math.max(2, deepPage)) };
      // A floor that answered otherwise would measure less work: every strong-floor request is checked first.
      if (strong) {
        for (const scenario of scenarios) {
          if (scenario.strong) await sameAnswer(scenario.name, scenario.strong(setup), service, strong, setup.token);
        }
      }
      for (const scenario of scenarios) {
        const targets: [Row['against'], Target][] = [['service', service]];
        if (scenario.floor && floor) targets.push(['raw floor', floor]);
        if (scenario.strong && strong) targets.push(['strong floor', strong]);
        // With floors, the measured time is taken in rounds in turn (support/run-scenario.ts).
        const results = await runInterleaved(targets.map(([, target]) => target), timing, (check) => scenario.requests(setup, check), targets.length > 1 ? ROUNDS : 1);
        for (const [i, [against]] of targets.entries()) {
          const figures = results[i];
          rows.push({ scenario: scenario.name, against, figures });
          const errors = figures.errors > 0 ? `, errors: ${figures.errors} (${figures.errorSamples.join(' | ')})` : '';
          console.log(`${shape.images} images, ${scenario.name} / ${against}: ${figures.requestsPerSecond.toFixed(0)} req/s, p50 ${figures.p50.toFixed(0)} ms, p99 ${figures.p99} ms${errors}`);
        }
      }
    } finally {
      await floor?.stop();
      await strong?.stop();
      await service.stop();
    }
    return { rows, datasetLine, databaseVersion: database.version };
  } finally {
    await database.drop();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const argv = process.argv.slice(2);
  const args = parseArgs(argv, DEFAULTS);
  const kind = args.db === 'sqlite' ? 'sqlite' : args.db === 'mysql' ? 'mysql' : undefined;
  if (!kind) throw new Error('--db must be sqlite or mysql');
  const timing: Timing = { connections: Number(args.connections), warmupSeconds: args.quick ? 2 : 5, seconds: args.quick ? 4 : 20 };
  const shape = { ...DEFAULT_SHAPE, globalPercent: Number(args['global-percent']) };
  const only = String(args.only).split(',').filter(Boolean);
  const unknown = only.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) throw new Error(`--only: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const scenarios = only.length > 0 ? SCENARIOS.filter((scenario) => only.includes(scenario.name)) : SCENARIOS;
  const databaseUrl = String(args['database-url']);

  const main10k = await runAtSize(kind, databaseUrl, shape, scenarios, timing, true, String(args['cpu-prof']));
  // The service is built by now (startService builds it).
  const startToReady = await startToReadySeconds();
  // A quick run measures no scaling unless the sizes are given.
  const sizes = args.quick && !argv.some((arg) => arg.startsWith('--scale-sizes')) ? [] : String(args['scale-sizes']).split(',').filter(Boolean).map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 600)) throw new Error('--scale-sizes: whole numbers of images, at least 600 each');
  const scale: ScaleRow[] = [];
  if (only.length === 0 && sizes.length > 0) {
    const scaleScenarios = SCENARIOS.filter((scenario) => SCALE_SCENARIOS.includes(scenario.name));
    const scaleTiming: Timing = { connections: 10, warmupSeconds: 2, seconds: 6 };
    for (const images of sizes) {
      const { rows } = await runAtSize(kind, databaseUrl, { ...shape, images }, scaleScenarios, scaleTiming, false, '');
      for (const row of rows) scale.push({ images, scenario: row.scenario, figures: row.figures });
    }
  }
  const run: Run = {
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    date: new Date().toISOString(),
    machine: `${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, ${process.platform}`,
    database: main10k.databaseVersion,
    dataset: main10k.datasetLine,
    timing: `${timing.connections} connections, ${timing.warmupSeconds} s warm-up + ${timing.seconds} s measured per scenario (with floors: ${ROUNDS} rounds of ${timing.seconds / ROUNDS} s per target, taken in turn); DB_POOL_SIZE ${POOL_SIZE}`,
    rows: main10k.rows,
    scale,
    startToReady,
    totalSeconds: (performance.now() - started) / 1000,
  };

  console.log(`\n${table(run.rows)}\n\ntargets:\n${verdictTable(verdicts(run))}\n\nwhole run: ${run.totalSeconds.toFixed(0)} s`);
  if (scale.length > 0) console.log(`\n${scaleTable(scale)}`);
  if (!args.quick && only.length === 0) {
    writeFileSync(join(__dirname, 'RESULTS.md'), resultsMarkdown(run));
    console.log('wrote bench/RESULTS.md');
    if (scale.length > 0) {
      writeFileSync(join(__dirname, 'scale.svg'), scaleSvg(scaleSeries(scale), `p50 latency by catalog size (${run.database}, 10 connections)`));
      console.log('wrote bench/scale.svg');
    }
  }
  const failed = [...run.rows, ...scale.map((row) => ({ ...row, against: 'service' }))].filter((row) => row.figures.errors > 0);
  if (failed.length > 0) {
    console.error(`\nbench FAILED: errors in ${failed.map((row) => `${row.scenario} (${row.against})`).join(', ')}`);
    process.exitCode = 1;
  }
}

/** Throws unless the strong floor's `data` is the service's, key for key (cursors aside: each encodes its own). */
async function sameAnswer(name: string, request: { query: string; variables: Record<string, unknown> }, service: Service, floor: ChildServer, token: string): Promise<void> {
  const ask = async (url: string) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(request) });
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    // Two failures would compare equal: each side must answer with data and no errors.
    if (body.errors || body.data == null) throw new Error(`${name}: ${url} did not answer cleanly: ${JSON.stringify(body).slice(0, 400)}`);
    return JSON.stringify(body.data, (key, value: unknown) => (key === 'endCursor' ? 'cursor' : value));
  };
  const [mine, floors] = await Promise.all([ask(service.url), ask(floor.url)]);
  if (mine !== floors) throw new Error(`the strong floor answers ${name} otherwise than the service:\nservice ${mine.slice(0, 600)}\nfloor   ${floors.slice(0, 600)}`);
}

/** The endCursor of page `page - 1`: a request with it as `after` answers page `page`. */
async function cursorBeforePage(service: Service, page: number): Promise<string> {
  let after: string | null = null;
  for (let i = 1; i < page; i++) {
    const data: { images: { pageInfo: { endCursor: string | null; hasNextPage: boolean } } } = await service.admin(
      'query Walk($after: String) { images(first: 50, after: $after) { pageInfo { endCursor hasNextPage } } }',
      { after },
    );
    if (!data.images.pageInfo.hasNextPage || !data.images.pageInfo.endCursor) throw new Error(`the catalog ends before page ${page}`);
    after = data.images.pageInfo.endCursor;
  }
  if (after === null) throw new Error('no cursor before page 1');
  return after;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
