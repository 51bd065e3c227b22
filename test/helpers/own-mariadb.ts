import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { freePort } from './free-port';
import { terminate } from './terminate';

const INSTALL_DB = '/usr/bin/mariadb-install-db';
const MARIADBD = '/usr/sbin/mariadbd';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

/**
 * A MariaDB server of the test's own, on its own port and data directory, so a test may stop and
 * restart it without touching the shared server every other test file uses.
 */
export interface OwnMariaDb {
  port: number;
  database: string;
  /** A user with a password, holding every privilege on `database` only. */
  user: string;
  password: string;
  /** mysql://user:password@127.0.0.1:port/database */
  url: string;
  /** Milliseconds the last install, start and stop took. */
  timings: { installMs: number; startMs: number; stopMs?: number };
  /** SIGTERM, as a service manager stops it; resolves once the process has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once it answers. */
  start(): Promise<void>;
  /** Stops it if running and deletes its data directory. */
  destroy(): Promise<void>;
}

export async function startOwnMariaDb(): Promise<OwnMariaDb> {
  const dir = mkdtempSync(join(tmpdir(), 'image-catalog-own-mariadb-'));
  const dataDir = join(dir, 'data');
  // mariadbd refuses to run as root unless told to; as anyone else it runs as them and warns.
  const osUser = userInfo().username;
  const port = await freePort();
  const database = 'image_catalog';
  const user = 'catalog';
  const password = `pw-${randomBytes(12).toString('hex')}`;
  // Small InnoDB files and no binlog, no name lookups, no buffer-pool dump: the instance starts in
  // well under a second. Durability settings stay at their defaults, since the test relies on them.
  const innodb = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M'];
  const serverArgs = [
    '--no-defaults',
    `--user=${osUser}`,
    `--datadir=${dataDir}`,
    `--socket=${join(dir, 'mariadb.sock')}`,
    `--pid-file=${join(dir, 'mariadb.pid')}`,
    `--log-error=${join(dir, 'error.log')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    '--skip-log-bin',
    '--innodb-buffer-pool-dump-at-shutdown=0',
    '--innodb-buffer-pool-load-at-startup=0',
    ...innodb,
  ];
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no error log)';
    }
  };

  const installing = Date.now();
  await install(dataDir, osUser, innodb).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const timings: OwnMariaDb['timings'] = { installMs: Date.now() - installing, startMs: 0 };

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  // A crashed test run must not leave a server running on the machine.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const start = async () => {
    if (running()) return;
    const started = Date.now();
    const server = spawn(MARIADBD, serverArgs, { stdio: 'ignore' });
    child = server;
    let spawnError = '';
    exited = new Promise((resolve) => {
      server.once('exit', () => resolve());
      server.once('error', (error) => {
        spawnError = `${MARIADBD}: ${error.message}\n`;
        resolve();
      });
    });
    await waitUntilAnswering(port, exited, () => spawnError + errorLog());
    timings.startMs = Date.now() - started;
  };
  const stop = async () => {
    const server = child;
    if (!server || !running()) return;
    timings.stopMs = await terminate(server, exited, STOP_TIMEOUT_MS);
  };

  try {
    await start();
    const root = await createConnection({ host: '127.0.0.1', port, user: 'root' });
    try {
      await root.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      // A password the service's logs can be searched for.
      await root.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${password}'`);
      await root.query(`GRANT ALL ON \`${database}\`.* TO '${user}'@'127.0.0.1'`);
    } finally {
      await root.end();
    }
  } catch (error) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    port,
    database,
    user,
    password,
    url: `mysql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    timings,
    stop,
    start,
    destroy: async () => {
      await stop();
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function install(dataDir: string, osUser: string, innodb: string[]): Promise<void> {
  const args = ['--no-defaults', `--user=${osUser}`, `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', ...innodb];
  return new Promise((resolve, reject) => {
    const installer = spawn(INSTALL_DB, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    installer.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    installer.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    installer.once('error', reject);
    installer.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`mariadb-install-db exited with ${code}:\n${output}`))));
  });
}

async function waitUntilAnswering(port: number, exited: Promise<void>, errorLog: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`mariadbd exited while starting:\n${errorLog()}`);
    try {
      const connection = await createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1_000 });
      await connection.end();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`mariadbd did not answer within ${START_TIMEOUT_MS} ms:\n${errorLog()}`);
}
