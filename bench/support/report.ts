import type { Figures } from './run-scenario';

export interface Row {
  scenario: string;
  /** The image-catalog service, or a floor for the same requests. */
  against: 'service' | 'raw floor' | 'strong floor';
  figures: Figures;
}

/** One scenario's figures at one catalog size (the scaling part of a full run). */
export interface ScaleRow {
  images: number;
  scenario: string;
  figures: Figures;
}

export interface Run {
  command: string;
  date: string;
  machine: string;
  database: string;
  dataset: string;
  timing: string;
  rows: Row[];
  scale: ScaleRow[];
  startToReady: { median: number; all: number[] };
  totalSeconds: number;
}

export interface Verdict {
  target: string;
  figure: string;
  status: 'met' | 'missed' | 'n/a';
}

const HEADER = ['scenario', 'against', 'req/s', 'of raw floor', 'of strong floor', 'p50 ms', 'p99 ms', 'errors', 'SQL/req', 'CPU ms/req', 'DB CPU ms/req', 'peak RSS MB'];

/** A floor's figures for the same scenario, when it ran. */
function floorOf(rows: Row[], scenario: string, floor: Row['against'] = 'raw floor'): Figures | undefined {
  return rows.find((row) => row.scenario === scenario && row.against === floor)?.figures;
}

function cells(row: Row, rows: Row[]): string[] {
  const f = row.figures;
  const ratio = (floor: Row['against']) => {
    const figures = row.against === 'service' ? floorOf(rows, row.scenario, floor) : undefined;
    return figures ? `${(f.requestsPerSecond / figures.requestsPerSecond).toFixed(2)}x` : '';
  };
  return [
    row.scenario,
    row.against,
    f.requestsPerSecond.toFixed(0),
    ratio('raw floor'),
    ratio('strong floor'),
    f.p50.toFixed(1),
    f.p99.toFixed(1),
    String(f.errors),
    Number.isFinite(f.statementsPerRequest) ? f.statementsPerRequest.toFixed(2) : 'n/a',
    Number.isFinite(f.cpuMsPerRequest) ? f.cpuMsPerRequest.toFixed(2) : 'n/a',
    Number.isFinite(f.databaseCpuMsPerRequest) ? f.databaseCpuMsPerRequest.toFixed(2) : 'n/a',
    f.peakRssMb.toFixed(0),
  ];
}

export function table(rows: Row[]): string {
  const body = rows.map((row) => cells(row, rows));
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function verdicts(run: Run): Verdict[] {
  const service = (name: string) => run.rows.find((row) => row.scenario === name && row.against === 'service')?.figures;
  const ofFloor = (name: string): Verdict => {
    const floor = floorOf(run.rows, name);
    const mine = service(name);
    if (!floor || !mine) return { target: `${name} throughput >= 0.5 of the raw floor`, figure: 'no raw floor on SQLite', status: 'n/a' };
    const ratio = mine.requestsPerSecond / floor.requestsPerSecond;
    return {
      target: `${name} throughput >= 0.5 of the raw floor`,
      figure: `${ratio.toFixed(2)}x (${mine.requestsPerSecond.toFixed(0)} vs ${floor.requestsPerSecond.toFixed(0)} req/s)`,
      status: ratio >= 0.5 ? 'met' : 'missed',
    };
  };
  const ofStrong = (name: string): Verdict => {
    const floor = floorOf(run.rows, name, 'strong floor');
    const mine = service(name);
    const target = `${name} throughput >= 0.6 of the strong floor`;
    if (!floor || !mine) return { target, figure: 'no strong floor on SQLite', status: 'n/a' };
    const ratio = mine.requestsPerSecond / floor.requestsPerSecond;
    return { target, figure: `${ratio.toFixed(2)}x (${mine.requestsPerSecond.toFixed(0)} vs ${floor.requestsPerSecond.toFixed(0)} req/s)`, status: ratio >= 0.6 ? 'met' : 'missed' };
  };
  const statements = (name: string): Verdict => {
    const value = service(name)?.statementsPerRequest ?? NaN;
    return { target: `SQL statements per request, ${name} <= 4`, figure: value.toFixed(2), status: value <= 4 ? 'met' : 'missed' };
  };
  const deep = service('deep page (190/200)');
  const first = service('page 1');
  const serviceRows = run.rows.filter((row) => row.against === 'service');
  const errors = run.rows.reduce((sum, row) => sum + row.figures.errors, 0);
  const rss = Math.max(...serviceRows.map((row) => row.figures.peakRssMb));
  return [
    ofStrong('list + totalCount (page 1)'),
    ofStrong('launcher gpu:false'),
    ofStrong('launcher gpu:true'),
    ofFloor('list'),
    ofFloor('launcher'),
    statements('list'),
    statements('launcher'),
    statements('federation (100 _entities)'),
    {
      target: 'deep-page p50 <= 1.2 x page-1 p50',
      figure: deep && first ? `${deep.p50.toFixed(1)} vs ${first.p50.toFixed(1)} ms (${(deep.p50 / first.p50).toFixed(2)}x)` : 'not run',
      status: deep && first && deep.p50 <= 1.2 * first.p50 ? 'met' : 'missed',
    },
    { target: '0 errors in every scenario', figure: String(errors), status: errors === 0 ? 'met' : 'missed' },
    { target: 'service peak RSS < 250 MB', figure: `${rss.toFixed(0)} MB`, status: rss < 250 ? 'met' : 'missed' },
    {
      target: 'start to ready on SQLite < 2 s',
      figure: `${run.startToReady.median.toFixed(2)} s (median of ${run.startToReady.all.map((s) => s.toFixed(2)).join(', ')})`,
      status: run.startToReady.median < 2 ? 'met' : 'missed',
    },
  ];
}

/** Median latency and throughput per scenario (rows) and catalog size (columns). */
export function scaleTable(scale: ScaleRow[]): string {
  const sizes = [...new Set(scale.map((row) => row.images))].sort((a, b) => a - b);
  const scenarios = [...new Set(scale.map((row) => row.scenario))];
  const cell = (scenario: string, images: number) => {
    const f = scale.find((row) => row.scenario === scenario && row.images === images)?.figures;
    return f ? `${f.p50.toFixed(1)} ms, ${f.requestsPerSecond.toFixed(0)}/s` : '';
  };
  const growth = (scenario: string) => {
    const first = scale.find((row) => row.scenario === scenario && row.images === sizes[0])?.figures.p50;
    const last = scale.find((row) => row.scenario === scenario && row.images === sizes[sizes.length - 1])?.figures.p50;
    return first && last ? `${(last / first).toFixed(1)}x` : '';
  };
  return [
    `| scenario | ${sizes.map((n) => `${n.toLocaleString('en-US')} images: p50, req/s`).join(' | ')} | p50 growth ${sizes[0]} → ${sizes[sizes.length - 1]} |`,
    `| --- | ${sizes.map(() => '---:').join(' | ')} | ---: |`,
    ...scenarios.map((scenario) => `| ${scenario} | ${sizes.map((n) => cell(scenario, n)).join(' | ')} | ${growth(scenario)} |`),
  ].join('\n');
}

export function scaleSeries(scale: ScaleRow[]): { scenario: string; points: { images: number; p50: number }[] }[] {
  const scenarios = [...new Set(scale.map((row) => row.scenario))];
  return scenarios.map((scenario) => ({ scenario, points: scale.filter((row) => row.scenario === scenario).map((row) => ({ images: row.images, p50: row.figures.p50 })) }));
}

export function verdictTable(list: Verdict[]): string {
  return list.map((v) => `  ${v.status.padEnd(6)} ${v.target}: ${v.figure}`).join('\n');
}

export function resultsMarkdown(run: Run): string {
  const rows = run.rows.map((row) => `| ${cells(row, run.rows).join(' | ')} |`);
  return [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (a full run, not `--quick`); see `bench/bench.ts` for what each scenario sends.',
    '',
    `- Command: \`${run.command}\``,
    `- Date: ${run.date}`,
    `- Machine: ${run.machine}`,
    `- Database: ${run.database}`,
    `- Dataset: ${run.dataset}`,
    `- Load: ${run.timing}`,
    `- Whole run: ${run.totalSeconds.toFixed(0)} s`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...rows,
    '',
    '"of raw floor": the service\'s requests/s as a fraction of the raw floor\'s (`bench/raw-floor.ts`: the',
    'service\'s own statements through a bare mysql2 pool of the same size behind `node:http`, the same JSON).',
    '"of strong floor": the same against `bench/strong-floor.ts`, the least SQL for the same JSON (only the',
    'columns the answer needs, independent statements sent together: the page beside its count, groups',
    'beside pull secrets, the launcher\'s group check beside its query; one pool of the same size). "SQL/req":',
    'statements counted by the service\'s TypeORM logger (`image_catalog_db_statements_total` on /metrics)',
    'over the measured part (read once it stands still), divided by the requests sent in it. Errors: non-2xx, socket errors,',
    'timeouts and answers with GraphQL `errors` (or not the data asked for), warm-up included.',
    '"CPU ms/req": user + system CPU time of the process answering (/proc/<pid>/stat) over the measured',
    'part, divided by the requests answered in it; "DB CPU ms/req" the same for the local mariadbd. Steadier',
    'than req/s on a 2-core machine where the load generator, the process answering and the database take',
    'turns. The service runs its JavaScript on one thread, so its CPU per request is what bounds its req/s.',
    'Peak RSS: VmRSS of the process answering, sampled every 200 ms; the floors run under',
    'ts-node, whose compiler stays in its memory, so their RSS says nothing about the floors themselves.',
    'The load generator (autocannon, checking every body) shares the machine\'s cores with the',
    'service and the database.',
    '',
    'The dataset has 3% global images, not the issue\'s 30%: every global image is usable by every',
    'group, so with 30% no group could have about 400 usable images, which the launcher scenario is',
    'defined by. `--global-percent 30` loads the literal shape (the launcher then answers ~3,100 images).',
    '',
    ...(run.scale.length > 0
      ? [
          '## How latency grows with the catalog',
          '',
          'The service alone, 10 connections, 2 s warm-up + 6 s measured per scenario, a fresh database per size',
          '(the same shape: 3% global, 500 groups, the launcher group with about 400 linked images plus the global',
          'ones). Plotted in `bench/scale.svg` (both axes logarithmic).',
          '',
          scaleTable(run.scale),
          '',
        ]
      : []),
    '## Targets',
    '',
    '| target | figure | status |',
    '| --- | --- | --- |',
    ...verdicts(run).map((v) => `| ${v.target} | ${v.figure} | ${v.status} |`),
    '',
  ].join('\n');
}
