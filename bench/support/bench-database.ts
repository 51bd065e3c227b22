import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';

/** A database of the run's own, dropped at the end, so a bench or a soak never touches other data. */
export interface BenchDatabase {
  url: string;
  kind: 'sqlite' | 'mysql';
  version: string;
  drop(): Promise<void>;
}

export async function benchDatabase(kind: 'sqlite' | 'mysql', base: string): Promise<BenchDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'image-catalog-bench-'));
    const probe = new Database(':memory:');
    const version = probe.prepare('SELECT sqlite_version() AS v').get() as { v: string };
    probe.close();
    return { url: `sqlite:${join(dir, 'catalog.sqlite')}`, kind, version: `SQLite ${version.v}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const parsed = new URL(base);
  const name = `${parsed.pathname.slice(1) || 'image_catalog_bench'}_${randomBytes(3).toString('hex')}`;
  const admin = await createConnection({ host: parsed.hostname, port: Number(parsed.port || 3306), user: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const [rows] = (await admin.query('SELECT VERSION() AS v')) as unknown as [{ v: string }[]];
  parsed.pathname = `/${name}`;
  return {
    url: parsed.toString(),
    kind,
    version: rows[0].v,
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}
