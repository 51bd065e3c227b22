import 'reflect-metadata';
import { ConfigError, loadConfig } from '../config';
import { createDataSource } from '../db/data-source';
import { runPendingMigrations } from '../db/migrate';

// npm run migrate (or `node dist/cli/migrate.js` in the container): applies pending migrations to
// DATABASE_URL and says which, so a deploy job can run it before the service starts.
async function main(): Promise<void> {
  const config = loadConfig();
  const dataSource = createDataSource(config.database, { poolSize: 2 });
  await dataSource.initialize();
  try {
    const applied = await runPendingMigrations(dataSource);
    console.log(applied.length === 0 ? 'migrate: the database is up to date' : `migrate: applied ${applied.map((m) => m.name).join(', ')}`);
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `migrate: ${error.message}` : error);
  process.exit(1);
});
