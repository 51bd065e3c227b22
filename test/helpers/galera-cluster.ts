import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Connection, createConnection } from 'mysql2/promise';
import { freePort } from './free-port';
import { terminate } from './terminate';

export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';
const INSTALL_DB = '/usr/bin/mariadb-install-db';
const MARIADBD = '/usr/sbin/mariadbd';
/** A joiner's state transfer (rsync of the donor's data directory) is part of its start. */
const JOIN_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

/** Whether this machine can run a cluster (Debian's galera-4 and rsync, for state transfers). */
export function galeraAvailable(): boolean {
  return existsSync(GALERA_PROVIDER) && existsSync(MARIADBD) && existsSync('/usr/bin/rsync');
}

export interface GaleraNode {
  /** 1-based, as in the cluster's log lines. */
  index: number;
  port: number;
  /** "127.0.0.1:port", as a DATABASE_URL names it. */
  address: string;
  running(): boolean;
  /** SIGKILL, as a node is lost: no clean leave, the others find out by timeout. */
  kill(): Promise<void>;
  /** SIGTERM: the node leaves the cluster cleanly. */
  stop(): Promise<void>;
  /** Starts it again; it rejoins through a state transfer and resolves once it is synced. */
  start(): Promise<void>;
  /** A root connection to this node (the caller ends it). */
  connect(database?: string): Promise<Connection>;
  /** wsrep_local_state_comment, wsrep_cluster_size and wsrep_ready as this node reports them. */
  status(): Promise<{ state: string; clusterSize: number; ready: boolean }>;
}

export interface GaleraCluster {
  nodes: GaleraNode[];
  /** A user with a password, holding every privilege on `database`. */
  user: string;
  password: string;
  database: string;
  /** mysql://user:password@<the nodes in this order>/database, as several replicas would be given it. */
  url(order?: number[], database?: string): string;
  /** Milliseconds from the first install to three synced nodes. */
  formedMs: number;
  /** Creates another database (utf8mb4) on the cluster; DDL replicates to every node. */
  createDatabase(name: string): Promise<void>;
  /** Waits until every running node is synced and counts every running node in its view. */
  waitUntilSynced(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A MariaDB Galera cluster of `size` nodes on loopback, each a `mariadbd` with its own data
 * directory, client port, group-communication port and state-transfer ports. The first node
 * bootstraps the cluster (--wsrep-new-cluster); the others join it by an rsync state transfer.
 * Failure detection is tightened from Galera's defaults (5 s to suspect a node, 15 s to drop it)
 * so that a test sees a lost node leave the cluster within a few seconds.
 */
export async function startGaleraCluster(size = 3): Promise<GaleraCluster> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'image-catalog-galera-'));
  // As root, the nodes run as mysql (Debian's server package creates it): a state transfer's
  // rsync daemon started by root would write as nobody and be refused.
  const osUser = userInfo().uid === 0 ? 'mysql' : userInfo().username;
  chmodSync(dir, 0o755);
  const user = 'catalog';
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const database = 'image_catalog';
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), group: await freePort(), ist: await freePort(), sst: await freePort() })));
  const clusterAddress = `gcomm://${ports.map((p) => `127.0.0.1:${p.group}`).join(',')}`;

  // One install, copied: the joiners' copies are replaced by the donor's state anyway.
  const template = join(dir, 'template');
  execFileSync(INSTALL_DB, ['--no-defaults', `--user=${osUser}`, `--datadir=${template}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'], {
    stdio: 'pipe',
  });

  const children: (ChildProcess | undefined)[] = [];
  const killAll = () => children.forEach((child) => child?.kill('SIGKILL'));
  process.once('exit', killAll);

  const nodes: GaleraNode[] = ports.map((port, i) => {
    const nodeDir = join(dir, `node${i + 1}`);
    const dataDir = join(nodeDir, 'data');
    mkdirSync(nodeDir, { recursive: true });
    cpSync(template, dataDir, { recursive: true });
    if (osUser === 'mysql') execFileSync('chown', ['-R', 'mysql:mysql', nodeDir]);
    const errorLog = join(nodeDir, 'error.log');
    const args = [
      '--no-defaults',
      `--user=${osUser}`,
      `--datadir=${dataDir}`,
      `--socket=${join(nodeDir, 'mariadb.sock')}`,
      `--pid-file=${join(nodeDir, 'mariadb.pid')}`,
      `--log-error=${errorLog}`,
      `--port=${port.client}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      '--innodb-buffer-pool-dump-at-shutdown=0',
      '--innodb-buffer-pool-load-at-startup=0',
      '--binlog-format=ROW',
      '--default-storage-engine=InnoDB',
      '--innodb-autoinc-lock-mode=2',
      '--wsrep-on=ON',
      `--wsrep-provider=${GALERA_PROVIDER}`,
      '--wsrep-cluster-name=image_catalog_test',
      `--wsrep-cluster-address=${clusterAddress}`,
      `--wsrep-node-name=node${i + 1}`,
      `--wsrep-node-address=127.0.0.1:${port.group}`,
      `--wsrep-sst-receive-address=127.0.0.1:${port.sst}`,
      '--wsrep-sst-method=rsync',
      '--wsrep-slave-threads=2',
      `--wsrep-provider-options=${[
        `gmcast.listen_addr=tcp://127.0.0.1:${port.group}`,
        `ist.recv_addr=127.0.0.1:${port.ist}`,
        'gcache.size=64M',
        'evs.keepalive_period=PT0.5S',
        'evs.inactive_check_period=PT0.5S',
        'evs.suspect_timeout=PT2S',
        'evs.inactive_timeout=PT4S',
        'evs.install_timeout=PT4S',
        'pc.wait_prim_timeout=PT10S',
      ].join(';')}`,
    ];
    let child: ChildProcess | undefined;
    let exited: Promise<void> = Promise.resolve();
    const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
    const tail = () => {
      try {
        return readFileSync(errorLog, 'utf8').split('\n').slice(-40).join('\n');
      } catch {
        return '(no error log)';
      }
    };
    const connect = (db?: string) => createConnection({ host: '127.0.0.1', port: port.client, user: 'root', database: db, connectTimeout: 2_000 });
    const status = async () => {
      const conn = await connect();
      try {
        const [rows] = await conn.query("SHOW STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_ready')");
        const values = new Map((rows as { Variable_name: string; Value: string }[]).map((row) => [row.Variable_name, row.Value]));
        return { state: values.get('wsrep_local_state_comment') ?? '', clusterSize: Number(values.get('wsrep_cluster_size') ?? 0), ready: values.get('wsrep_ready') === 'ON' };
      } finally {
        await conn.end();
      }
    };
    const launch = async (bootstrap: boolean) => {
      if (running()) return;
      const server = spawn(MARIADBD, bootstrap ? [...args, '--wsrep-new-cluster'] : args, { stdio: 'ignore' });
      children[i] = child = server;
      exited = new Promise((resolve) => {
        server.once('exit', () => resolve());
        server.once('error', () => resolve());
      });
      let gone = false;
      void exited.then(() => (gone = true));
      const deadline = Date.now() + JOIN_TIMEOUT_MS;
      while (Date.now() < deadline) {
        if (gone) throw new Error(`galera node${i + 1} exited while starting:\n${tail()}`);
        const synced = await status().then(
          (s) => s.ready && s.state === 'Synced',
          () => false,
        );
        if (synced) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`galera node${i + 1} was not synced within ${JOIN_TIMEOUT_MS} ms:\n${tail()}`);
    };
    const node: GaleraNode & { launch: typeof launch } = {
      index: i + 1,
      port: port.client,
      address: `127.0.0.1:${port.client}`,
      running,
      connect,
      status,
      launch,
      start: () => launch(false),
      kill: async () => {
        if (!child || !running()) return;
        child.kill('SIGKILL');
        await exited;
      },
      stop: async () => {
        if (!child || !running()) return;
        await terminate(child, exited, STOP_TIMEOUT_MS);
      },
    };
    return node;
  });

  const destroy = async () => {
    await Promise.all(nodes.map((node) => node.kill()));
    process.removeListener('exit', killAll);
    if (!process.env.GALERA_KEEP) rmSync(dir, { recursive: true, force: true });
  };

  try {
    // Joiners one at a time: two state transfers from one donor at once would queue anyway.
    for (const [i, node] of nodes.entries()) await (node as GaleraNode & { launch(bootstrap: boolean): Promise<void> }).launch(i === 0);
    const root = await nodes[0].connect();
    try {
      await root.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      // CREATE USER and GRANT replicate as DDL; '%' since the nodes see each other's clients too.
      await root.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${password}'`);
      await root.query(`GRANT ALL ON *.* TO '${user}'@'127.0.0.1'`);
    } finally {
      await root.end();
    }
  } catch (error) {
    await destroy();
    throw error;
  }

  const waitUntilSynced = async (timeoutMs = JOIN_TIMEOUT_MS) => {
    const deadline = Date.now() + timeoutMs;
    const expected = nodes.filter((node) => node.running()).length;
    for (;;) {
      const states = await Promise.all(nodes.filter((node) => node.running()).map((node) => node.status().catch(() => undefined)));
      if (states.every((s) => s && s.ready && s.state === 'Synced' && s.clusterSize === expected)) return;
      if (Date.now() > deadline) throw new Error(`the cluster did not settle within ${timeoutMs} ms: ${JSON.stringify(states)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  return {
    nodes,
    user,
    password,
    database,
    formedMs: Date.now() - started,
    url: (order = nodes.map((_, i) => i + 1), db = database) =>
      `mysql://${user}:${encodeURIComponent(password)}@${order.map((n) => nodes[n - 1].address).join(',')}/${db}`,
    createDatabase: async (name: string) => {
      const root = await nodes.find((node) => node.running())!.connect();
      try {
        await root.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      } finally {
        await root.end();
      }
    },
    waitUntilSynced,
    destroy,
  };
}
