/**
 * `npm run bench:search [-- --db sqlite|mysql] [--database-url mysql://...]`
 *
 * What folded search costs (common/text-keys.ts): loads the 10,000-image bench catalog, then times
 * the search statement the service sends (`searchText LIKE ?`) against the one it sent before
 * (`LOWER(name) LIKE ? OR LOWER(displayName) LIKE ? OR LOWER(description) LIKE ?`) for a few
 * terms, and folding the text of one image (what every write now adds). Prints a table; the
 * figures of a run are in bench/RESULTS.md.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { parseDatabaseUrl } from '../src/config';
import { SEARCHABLE, searchTerm, textKeys } from '../src/common/text-keys';
import { createDataSource } from '../src/db/data-source';
import { parseArgs } from './support/args';
import { benchDatabase } from './support/bench-database';
import { loadDataset } from './support/dataset';

const TERMS = ['torch', 'Notebook', 'zzz-no-match', 'a'];
const RUNS = 30;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { db: 'mysql', 'database-url': 'mysql://root@127.0.0.1:3306/image_catalog_bench' });
  const kind = args.db === 'sqlite' ? 'sqlite' : 'mysql';
  const database = await benchDatabase(kind, String(args['database-url']));
  try {
    const config = parseDatabaseUrl(database.url);
    await loadDataset(config, randomBytes(32));
    const dataSource = createDataSource(config, { poolSize: 2 });
    await dataSource.initialize();
    const time = async (sql: string, params: unknown[]) => {
      const samples: number[] = [];
      let rows = 0;
      for (let i = 0; i < RUNS; i++) {
        const started = performance.now();
        rows = Number((await dataSource.query(sql, params))[0].n);
        samples.push(performance.now() - started);
      }
      samples.sort((a, b) => a - b);
      return { median: samples[Math.floor(RUNS / 2)], rows };
    };
    console.log(`${database.version}, 10,000 images, median of ${RUNS} runs of COUNT(*) over the whole table`);
    console.log('| term | folded searchText LIKE | rows | LOWER(...) LIKE (before) | rows |');
    console.log('|---|---|---|---|---|');
    for (const term of TERMS) {
      const pattern = `%${searchTerm(term)}%`;
      const folded = await time("SELECT COUNT(*) AS n FROM images WHERE searchText LIKE ? ESCAPE '!'", [pattern]);
      const lower = await time("SELECT COUNT(*) AS n FROM images WHERE LOWER(name) LIKE ? ESCAPE '!' OR LOWER(displayName) LIKE ? ESCAPE '!' OR LOWER(description) LIKE ? ESCAPE '!'", [pattern, pattern, pattern]);
      console.log(`| ${term} | ${folded.median.toFixed(2)} ms | ${folded.rows} | ${lower.median.toFixed(2)} ms | ${lower.rows} |`);
    }
    const image = { name: 'pytorch-cuda-2-3-00042', displayName: 'Pytorch cuda 2.3', description: 'pytorch cuda 2.3: '.padEnd(200, 'notebook science data ') };
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) textKeys(image, SEARCHABLE.images);
    console.log(`\nfolding one image's text (keys written with every create and update): ${(((performance.now() - started) / 10_000) * 1000).toFixed(1)} µs`);
    await dataSource.destroy();
  } finally {
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
