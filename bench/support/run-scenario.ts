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

/**
 * A warm-up run, then the measured run. The statement counter is read between the two and after,
 * so statements made by the warm-up are not counted; RSS is sampled throughout.
 */
export async function runScenario(target: Target, timing: Timing, requests: (check: BodyCheck) => Request[]): Promise<Figures> {
  let peak = rssOf(target.pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssOf(target.pid));
  }, 200);
  try {
    const warmCheck: BodyCheck = { failures: 0, samples: [] };
    const warm = await drive(target.url, timing.connections, timing.warmupSeconds, counted(requests(warmCheck)).requests);
    // Requests in flight when autocannon stops still run their statements after it returns: the
    // counter is read once it stands still, and divided by the requests sent, answered or not.
    const before = await settledStatements(target.url);
    const check: BodyCheck = { failures: 0, samples: [] };
    const measured = counted(requests(check));
    const database = databasePid();
    const cpuBefore = [cpuMsOf(target.pid), database ? cpuMsOf(database) : NaN];
    const result = await drive(target.url, timing.connections, timing.seconds, measured.requests);
    const cpuAfter = [cpuMsOf(target.pid), database ? cpuMsOf(database) : NaN];
    const after = await settledStatements(target.url);
    const socketErrors = (run: autocannon.Result) => run.non2xx + run.errors + run.timeouts;
    const samples = [...check.samples, ...warmCheck.samples];
    if (warm.non2xx + result.non2xx > 0) samples.push(`${warm.non2xx + result.non2xx} non-2xx responses`);
    if (warm.errors + warm.timeouts + result.errors + result.timeouts > 0) samples.push(`${warm.errors + result.errors} socket errors, ${warm.timeouts + result.timeouts} timeouts`);
    return {
      requests: result.requests.total,
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: socketErrors(warm) + socketErrors(result) + warmCheck.failures + check.failures,
      errorSamples: samples,
      statementsPerRequest: measured.sent() > 0 ? (after - before) / measured.sent() : NaN,
      peakRssMb: Math.max(peak, rssOf(target.pid)) / 1024 / 1024,
      cpuMsPerRequest: (cpuAfter[0] - cpuBefore[0]) / result.requests.total,
      databaseCpuMsPerRequest: (cpuAfter[1] - cpuBefore[1]) / result.requests.total,
    };
  } finally {
    clearInterval(sampler);
  }
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
