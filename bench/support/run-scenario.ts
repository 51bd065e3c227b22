import { readdirSync, readFileSync } from 'node:fs';
import autocannon, { Request } from 'autocannon';
import type { BodyCheck } from './scenarios';

export interface Target {
  /** The GraphQL endpoint; /metrics is read from the same origin. */
  url: string;
  pid: number;
}

export interface Timing {
  connections: number;
  warmupSeconds: number;
  seconds: number;
}

export interface Figures {
  requests: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  errorSamples: string[];
  statementsPerRequest: number;
  peakRssMb: number;
  /** CPU time (user + system) the answering process spent per answered request in the measured run. */
  cpuMsPerRequest: number;
  /** The same for the database server (mariadbd), when it runs on this machine; NaN otherwise. */
  databaseCpuMsPerRequest: number;
}

/** What one measured round of one target gave. */
interface Round {
  result: autocannon.Result;
  sent: number;
  statements: number;
  cpuMs: number;
  databaseCpuMs: number;
}

/**
 * Several targets (the service and its floors) on the same requests: each warms up, then the
 * measured time is cut into `rounds` rounds taken in turn (the order reversed every other round),
 * so that a machine that speeds up or slows down over the minutes of a scenario, as this shared
 * 2-core VM does, weighs on every target alike instead of on whichever ran last. Requests/s is
 * over all rounds; p50 is the rounds' p50s weighted by their requests, p99 the worst round's. The
 * statement counter is read once it stands still around each round, so statements of the warm-up
 * are not counted; RSS is sampled throughout.
 */
export async function runInterleaved(targets: Target[], timing: Timing, requests: (check: BodyCheck) => Request[], rounds: number): Promise<Figures[]> {
  const peaks = targets.map((target) => rssOf(target.pid));
  const sampler = setInterval(() => targets.forEach((target, i) => (peaks[i] = Math.max(peaks[i], rssOf(target.pid)))), 200);
  try {
    const checks = targets.map((): BodyCheck => ({ failures: 0, samples: [] }));
    const warmChecks = targets.map((): BodyCheck => ({ failures: 0, samples: [] }));
    const warms: autocannon.Result[] = [];
    for (const [i, target] of targets.entries()) warms.push(await drive(target.url, timing.connections, timing.warmupSeconds, counted(requests(warmChecks[i])).requests));
    const measured: Round[][] = targets.map(() => []);
    const database = databasePid();
    for (let round = 0; round < rounds; round++) {
      const order = [...targets.keys()];
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const target = targets[i];
        // Requests in flight when autocannon stops still run their statements after it returns: the
        // counter is read once it stands still, and divided by the requests sent, answered or not.
        const before = await settledStatements(target.url);
        const sending = counted(requests(checks[i]));
        const cpuBefore = [cpuMsOf(target.pid), database ? cpuMsOf(database) : NaN];
        const result = await drive(target.url, timing.connections, timing.seconds / rounds, sending.requests);
        const cpuAfter = [cpuMsOf(target.pid), database ? cpuMsOf(database) : NaN];
        const after = await settledStatements(target.url);
        measured[i].push({ result, sent: sending.sent(), statements: after - before, cpuMs: cpuAfter[0] - cpuBefore[0], databaseCpuMs: cpuAfter[1] - cpuBefore[1] });
      }
    }
    return targets.map((target, i) => figuresOf(warms[i], measured[i], warmChecks[i], checks[i], Math.max(peaks[i], rssOf(target.pid))));
  } finally {
    clearInterval(sampler);
  }
}

function figuresOf(warm: autocannon.Result, rounds: Round[], warmCheck: BodyCheck, check: BodyCheck, peakRss: number): Figures {
  const sum = (value: (round: Round) => number) => rounds.reduce((total, round) => total + value(round), 0);
  const answered = sum((round) => round.result.requests.total);
  const seconds = sum((round) => round.result.duration);
  const socketErrors = (run: autocannon.Result) => run.non2xx + run.errors + run.timeouts;
  const runs = [warm, ...rounds.map((round) => round.result)];
  const non2xx = runs.reduce((total, run) => total + run.non2xx, 0);
  const socket = runs.reduce((total, run) => total + run.errors, 0);
  const timeouts = runs.reduce((total, run) => total + run.timeouts, 0);
  const samples = [...check.samples, ...warmCheck.samples];
  if (non2xx > 0) samples.push(`${non2xx} non-2xx responses`);
  if (socket + timeouts > 0) samples.push(`${socket} socket errors, ${timeouts} timeouts`);
  const sent = sum((round) => round.sent);
  return {
    requests: answered,
    requestsPerSecond: seconds > 0 ? answered / seconds : 0,
    p50: answered > 0 ? sum((round) => round.result.latency.p50 * round.result.requests.total) / answered : NaN,
    p99: Math.max(...rounds.map((round) => round.result.latency.p99)),
    errors: runs.reduce((total, run) => total + socketErrors(run), 0) + warmCheck.failures + check.failures,
    errorSamples: samples,
    statementsPerRequest: sent > 0 ? sum((round) => round.statements) / sent : NaN,
    peakRssMb: peakRss / 1024 / 1024,
    cpuMsPerRequest: sum((round) => round.cpuMs) / answered,
    databaseCpuMsPerRequest: sum((round) => round.databaseCpuMs) / answered,
  };
}

function drive(url: string, connections: number, seconds: number, requests: Request[]): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: seconds, requests }, (error, result) => (error ? reject(error) : resolve(result)));
    instance.on('error', reject);
  });
}

/** The same requests, counting how many were sent: autocannon calls setupRequest just before it writes each one. */
function counted(requests: Request[]): { requests: Request[]; sent: () => number } {
  let sent = 0;
  return {
    requests: requests.map((request) => ({
      ...request,
      setupRequest: (built: Request, context: object) => {
        sent++;
        return typeof request.setupRequest === 'function' ? request.setupRequest(built, context) : built;
      },
    })),
    sent: () => sent,
  };
}

async function settledStatements(graphqlUrl: string): Promise<number> {
  let last = await statements(graphqlUrl);
  for (let waited = 0; waited < 10_000; waited += 300) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = await statements(graphqlUrl);
    if (now === last) return now;
    last = now;
  }
  return last;
}

async function statements(graphqlUrl: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', graphqlUrl))).text();
  const value = /^image_catalog_db_statements_total (\d+)/m.exec(text)?.[1];
  if (value === undefined) throw new Error(`no image_catalog_db_statements_total at ${new URL('/metrics', graphqlUrl)}`);
  return Number(value);
}

function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/**
 * CPU time a process has used, from /proc/<pid>/stat (utime + stime, in clock ticks of 10 ms).
 * A steadier figure than requests per second on a small machine where the load generator, the
 * answering process and the database take turns on the same cores.
 */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are counted from its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The local mariadbd (or mysqld) process, if there is one. */
function databasePid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (/^(mariadbd|mysqld)$/.test(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) return Number(entry);
    } catch {
      // The process ended while the list was read.
    }
  }
  return undefined;
}
