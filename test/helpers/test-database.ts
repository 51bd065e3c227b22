import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { DatabaseConfig, parseDatabaseUrl } from '../../src/config';

export interface TestDatabase {
  config: DatabaseConfig;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test file: a temporary SQLite file by default, or a new
 * database on the MySQL/MariaDB server named by DATABASE_URL (its path names the prefix).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = process.env.DATABASE_URL?.trim();
  if (!url || url.startsWith('sqlite:')) {
    const path = join(tmpdir(), `image-catalog-test-${suffix}.sqlite`);
    return {
      config: { kind: 'sqlite', path },
      url: `sqlite:${path}`,
      drop: async () => {
        for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });
      },
    };
  }
  const server = parseDatabaseUrl(url);
  if (server.kind !== 'mysql') throw new Error('unreachable');
  const database = `${server.database}_${suffix}`.slice(0, 64);
  const admin = await createConnection({ host: server.host, port: server.port, user: server.username, password: server.password });
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return {
    config: { ...server, database },
    url: parsed.toString(),
    drop: async () => {
      const conn = await createConnection({ host: server.host, port: server.port, user: server.username, password: server.password });
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await conn.end();
    },
  };
}

export const onMysql = (): boolean => /^(mysql|mariadb):/.test(process.env.DATABASE_URL?.trim() ?? '');
