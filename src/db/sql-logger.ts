import { Logger } from 'typeorm';

/**
 * Counts every SQL statement (tests and the benchmark read the count) and, when LOG_SQL is on,
 * prints the statement text. Parameters are never printed: they can hold registry passwords.
 */
export class SqlLogger implements Logger {
  queryCount = 0;
  /** When set, statement texts are kept here (tests read them); never their parameters. */
  recorded: string[] | undefined;

  constructor(private readonly printStatements: boolean) {}

  logQuery(query: string): void {
    this.queryCount++;
    this.recorded?.push(query);
    if (this.printStatements) console.log(`[sql] ${query}`);
  }

  logQueryError(error: string | Error, query: string): void {
    if (this.printStatements) console.error(`[sql] failed: ${query}: ${error instanceof Error ? error.message : error}`);
  }

  logQuerySlow(time: number, query: string): void {
    console.warn(`[sql] slow (${time} ms): ${query}`);
  }

  logSchemaBuild(): void {}

  logMigration(message: string): void {
    console.log(`[migration] ${message}`);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') console.warn(`[typeorm] ${String(message)}`);
  }
}
