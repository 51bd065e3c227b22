import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { createDataSource } from './db/data-source';
import { createServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const dataSource = createDataSource(config.database, { poolSize: config.dbPoolSize, logSql: config.logSql });
  await dataSource.initialize();
  if (config.migrateOnStart) await dataSource.runMigrations({ transaction: 'each' });
  const server = await createServer(config, dataSource);
  console.log(`image-catalog: GraphQL at ${server.url} (database ${config.databaseLabel})`);

  const shutdown = async (): Promise<void> => {
    await server.stop();
    await dataSource.destroy();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `image-catalog: ${error.message}` : error);
  process.exit(1);
});
