import { loadConfig } from './src/config';
import { createDataSource } from './src/db/data-source';

// The TypeORM CLI (npm run migrate) opens the database exactly as the service does.
const config = loadConfig();
export default createDataSource(config.database, { poolSize: config.dbPoolSize, logSql: config.logSql });
