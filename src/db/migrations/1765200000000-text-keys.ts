import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';
import { SEARCHABLE, textKeys } from '../../common/text-keys';
import { columnFactory, tableToAlter } from './column-factory';

/**
 * Folded copies of the text that search and ordering compare (common/text-keys.ts), so both
 * databases give the same answers; computed here for the records that exist.
 */
export class TextKeys1765200000000 implements MigrationInterface {
  name = 'TextKeys1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const col = columnFactory(queryRunner);
    for (const table of Object.keys(SEARCHABLE) as (keyof typeof SEARCHABLE)[]) {
      const columns = [new TableColumn(col.key('displayNameKey', 400)), new TableColumn(col.longKey('searchText'))];
      if (table === 'user_groups') columns.push(new TableColumn(col.key('nameKey', 63)));
      await queryRunner.addColumns(await tableToAlter(queryRunner, table), columns);
      const rows: { id: string; name: string; displayName: string; description?: string | null }[] = await queryRunner.query(
        `SELECT id, name, displayName${table === 'image_pull_secrets' ? '' : ', description'} FROM ${table}`,
      );
      for (const row of rows) {
        const keys = textKeys(row, SEARCHABLE[table]);
        const nameKey = table === 'user_groups' ? ', nameKey = ?' : '';
        const params = [keys.displayNameKey, keys.searchText, ...(nameKey ? [row.name.toLowerCase()] : []), row.id];
        await queryRunner.query(`UPDATE ${table} SET displayNameKey = ?, searchText = ?${nameKey} WHERE id = ?`, params);
      }
      // Orderings by display name walk the key now.
      await queryRunner.dropIndex(table, `IDX_${table}_displayName_id`);
      await queryRunner.createIndex(table, new TableIndex({ name: `IDX_${table}_displayNameKey_id`, columnNames: ['displayNameKey', 'id'] }));
    }
    await queryRunner.createIndex('user_groups', new TableIndex({ name: 'UQ_user_groups_nameKey', columnNames: ['nameKey'], isUnique: true }));
    await queryRunner.dropIndex('images', 'IDX_images_global_displayName');
    await queryRunner.createIndex('images', new TableIndex({ name: 'IDX_images_global_displayNameKey', columnNames: ['global', 'displayNameKey', 'name'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('images', 'IDX_images_global_displayNameKey');
    await queryRunner.createIndex('images', new TableIndex({ name: 'IDX_images_global_displayName', columnNames: ['global', 'displayName', 'name'] }));
    await queryRunner.dropIndex('user_groups', 'UQ_user_groups_nameKey');
    for (const table of Object.keys(SEARCHABLE) as (keyof typeof SEARCHABLE)[]) {
      await queryRunner.dropIndex(table, `IDX_${table}_displayNameKey_id`);
      await queryRunner.createIndex(table, new TableIndex({ name: `IDX_${table}_displayName_id`, columnNames: ['displayName', 'id'] }));
      const columns = ['displayNameKey', 'searchText', ...(table === 'user_groups' ? ['nameKey'] : [])];
      await queryRunner.dropColumns(await tableToAlter(queryRunner, table), columns);
    }
  }
}
