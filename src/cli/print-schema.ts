import 'reflect-metadata';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildSchema, SCHEMA_DIR } from '../schema';

// npm run schema:print writes the subgraph SDL the platform team publishes to their schema registry;
// with --check (CI) it fails instead when the file is stale.
export const PUBLISHED_SDL = join(SCHEMA_DIR, 'published', 'image-catalog.subgraph.graphql');

const HEADER = '# The image-catalog subgraph SDL (Federation 2), printed by `npm run schema:print`: do not edit.\n\n';

function main(): void {
  const sdl = HEADER + printSubgraphSchema(buildSchema()) + '\n';
  const relative = PUBLISHED_SDL.slice(join(SCHEMA_DIR, '..').length + 1);
  if (process.argv.includes('--check')) {
    if (!existsSync(PUBLISHED_SDL) || readFileSync(PUBLISHED_SDL, 'utf8') !== sdl) {
      console.error(`${relative} is stale: run npm run schema:print and commit it`);
      process.exit(1);
    }
    console.log(`${relative} is current.`);
    return;
  }
  writeFileSync(PUBLISHED_SDL, sdl);
  console.log(`wrote ${relative}`);
}

main();
