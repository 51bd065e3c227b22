import { createServer, Server, Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config';
import { createDataSource } from '../src/db/data-source';
import { hostPool } from '../src/db/pool-stats';
import { freePort } from './helpers/free-port';
import { createTestDatabase, onMysql, TestDatabase } from './helpers/test-database';

// Several hosts in DATABASE_URL, one of them bad, against the real MariaDB server: the pool skips
// the bad one and keeps it out of turn. (test/galera.test.ts does the same with real cluster nodes.)

let database: TestDatabase;
let silent: Server;
const sockets: Socket[] = [];
let silentPort: number;
const open: DataSource[] = [];

async function connect(hosts: string): Promise<DataSource> {
  const config = database.config;
  if (config.kind !== 'mysql') throw new Error('MariaDB only');
  const url = `mysql://${config.username}${config.password ? `:${encodeURIComponent(config.password)}` : ''}@${hosts}/${config.database}`;
  const dataSource = createDataSource(loadConfig({ DATABASE_URL: url }).database, { poolSize: 2 });
  open.push(dataSource);
  await dataSource.initialize();
  return dataSource;
}

(onMysql() ? describe : describe.skip)('several database hosts (MariaDB only)', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    // Accepts connections and never answers, as a frozen server or a black-holed route would.
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const dataSource of open) if (dataSource.isInitialized) await dataSource.destroy();
    sockets.forEach((socket) => socket.destroy());
    await new Promise((resolve) => silent.close(resolve));
    await database.drop();
  });

  it('skips a host that refuses connections at once, and keeps it out of turn', async () => {
    const config = database.config as { host: string; port: number };
    const refused = await freePort();
    const dataSource = await connect(`127.0.0.1:${refused},${config.host}:${config.port}`);
    const started = Date.now();
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(hostPool(dataSource)!.status()).toEqual([
      { address: `127.0.0.1:${refused}`, up: false },
      { address: `${config.host}:${config.port}`, up: true },
    ]);
  });

  it('gives up on a host that never answers and serves from the next one', async () => {
    const config = database.config as { host: string; port: number };
    const dataSource = await connect(`127.0.0.1:${silentPort},${config.host}:${config.port}`);
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(hostPool(dataSource)!.status()[0]).toEqual({ address: `127.0.0.1:${silentPort}`, up: false });
    // Out of turn now: the next statements do not wait for it again.
    const started = Date.now();
    await Promise.all(Array.from({ length: 4 }, () => dataSource.query('SELECT 1')));
    expect(Date.now() - started).toBeLessThan(1_000);
  }, 20_000);

  it('fails with the cause when no host answers', async () => {
    const [a, b] = [await freePort(), await freePort()];
    await expect(connect(`127.0.0.1:${a},127.0.0.1:${b}`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
