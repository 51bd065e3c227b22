import { QueryRunner, Table, TableColumnOptions } from 'typeorm';
import { isSqlite } from '../dialect';

/**
 * Column shapes the migrations share. Text columns compare case-insensitively on both dialects
 * (NOCASE on SQLite, utf8mb4_unicode_ci on MySQL/MariaDB); ids are ASCII and compared exactly.
 */
export function columnFactory(queryRunner: QueryRunner) {
  const sqlite = isSqlite(queryRunner.connection);
  const textOptions: Partial<TableColumnOptions> = sqlite
    ? { collation: 'NOCASE' }
    : { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' };
  return {
    id: (): TableColumnOptions => ({
      name: 'id',
      type: 'varchar',
      length: '36',
      isPrimary: true,
      isNullable: false,
      ...(sqlite ? {} : { charset: 'ascii', collation: 'ascii_bin' }),
    }),
    text: (name: string, length: number, nullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable: nullable,
      ...textOptions,
    }),
    /** Folded text compared byte for byte on both (common/text-keys.ts): SQLite's BINARY, utf8mb4_bin. */
    key: (name: string, length: number): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable: false,
      default: "''",
      ...(sqlite ? {} : { charset: 'utf8mb4', collation: 'utf8mb4_bin' }),
    }),
    longKey: (name: string): TableColumnOptions => ({
      name,
      type: sqlite ? 'text' : 'mediumtext',
      isNullable: true,
      ...(sqlite ? {} : { charset: 'utf8mb4', collation: 'utf8mb4_bin' }),
    }),
    /** Unbounded text (TEXT on SQLite, MEDIUMTEXT on MySQL, whose TEXT stops at 64 KiB). */
    longText: (name: string, nullable = false): TableColumnOptions => ({
      name,
      type: sqlite ? 'text' : 'mediumtext',
      isNullable: nullable,
      ...textOptions,
    }),
    timestamps: (): TableColumnOptions[] =>
      ['createdAt', 'updatedAt'].map((name) => ({ name, type: 'datetime', precision: 3, isNullable: false })),
  };
}

/**
 * An existing table to alter. SQLite alters a table by rebuilding it from TypeORM's picture of it,
 * and TypeORM does not read collations back from SQLite: without this the rebuilt text columns
 * would lose NOCASE, and with it case-insensitive unique names and ordering. Ids (`id`, `*Id`)
 * and folded keys (`*Key`, `searchText`) never had a collation.
 */
export async function tableToAlter(queryRunner: QueryRunner, name: string): Promise<Table> {
  const table = await queryRunner.getTable(name);
  if (!table) throw new Error(`table ${name} does not exist`);
  if (isSqlite(queryRunner.connection)) {
    for (const column of table.columns) {
      const isText = ['varchar', 'text'].includes(column.type);
      const isId = column.name === 'id' || column.name.endsWith('Id');
      // Folded keys compare byte for byte (common/text-keys.ts), like ids.
      const isKey = column.name.endsWith('Key') || column.name === 'searchText';
      if (isText && !isId && !isKey) column.collation = 'NOCASE';
    }
  }
  return table;
}
