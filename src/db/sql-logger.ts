import { Logger as TypeOrmLogger } from 'typeorm';

/** Where SQL notes go: the service's pino logger, or the console for the CLIs. */
export interface LogSink {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

const consoleSink: LogSink = {
  info: (object, message) => console.log(message, JSON.stringify(object)),
  warn: (object, message) => console.warn(message, JSON.stringify(object)),
  error: (object, message) => console.error(message, JSON.stringify(object)),
};

/**
 * Counts every SQL statement (tests and the benchmark read the count) and, when LOG_SQL is on,
 * logs the statement text. Parameters are never logged: they can hold registry passwords.
 */
export class SqlLogger implements TypeOrmLogger {
  queryCount = 0;
  /** When set, statement texts are kept here (tests read them); never their parameters. */
  recorded: string[] | undefined;

  constructor(
    private readonly printStatements: boolean,
    private readonly sink: LogSink = consoleSink,
  ) {}

  logQuery(query: string): void {
    this.queryCount++;
    this.recorded?.push(query);
    if (this.printStatements) this.sink.info({ sql: query }, 'sql');
  }

  logQueryError(error: string | Error, query: string): void {
    if (this.printStatements) this.sink.error({ sql: query, error: error instanceof Error ? error.message : error }, 'sql failed');
  }

  logQuerySlow(time: number, query: string): void {
    this.sink.warn({ sql: query, durationMs: time }, 'slow sql');
  }

  logSchemaBuild(): void {}

  logMigration(message: string): void {
    this.sink.info({ migration: message }, 'migration');
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.sink.warn({ detail: String(message) }, 'typeorm');
  }
}
