import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';
import { columnFactory } from './column-factory';

/**
 * Written once for both dialects with the schema-builder API. The only dialect choice is the
 * collation of text columns: names and display names compare case-insensitively on both
 * (NOCASE on SQLite, utf8mb4_unicode_ci on MySQL/MariaDB), so uniqueness, search and the
 * keyset ordering agree between the two databases.
 */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const col = columnFactory(queryRunner);

    await queryRunner.createTable(
      new Table({
        name: 'image_pull_secrets',
        columns: [
          col.id(),
          col.text('name', 63),
          col.text('displayName', 100),
          col.text('registryHost', 255),
          col.text('username', 255),
          col.text('password', 1024),
          ...col.timestamps(),
        ],
        indices: [
          new TableIndex({ name: 'UQ_image_pull_secrets_name', columnNames: ['name'], isUnique: true }),
          ...orderingIndexes('image_pull_secrets'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'user_groups',
        columns: [
          col.id(),
          col.text('name', 63),
          col.text('displayName', 100),
          col.text('description', 2000, true),
          ...col.timestamps(),
        ],
        indices: [
          new TableIndex({ name: 'UQ_user_groups_name', columnNames: ['name'], isUnique: true }),
          ...orderingIndexes('user_groups'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'images',
        columns: [
          col.id(),
          col.text('name', 63),
          col.text('displayName', 100),
          col.text('description', 2000, true),
          col.text('type', 16),
          col.text('url', 512),
          col.text('urlForGpu', 512, true),
          { ...col.id(), name: 'pullSecretId', isPrimary: false, isNullable: true },
          { name: 'global', type: 'boolean', isNullable: false },
          { name: 'version', type: 'int', isNullable: false },
          ...col.timestamps(),
        ],
        indices: [
          new TableIndex({ name: 'UQ_images_name', columnNames: ['name'], isUnique: true }),
          new TableIndex({ name: 'IDX_images_pullSecretId', columnNames: ['pullSecretId'] }),
          // The launcher reads global images in display order.
          new TableIndex({ name: 'IDX_images_global_displayName', columnNames: ['global', 'displayName', 'name'] }),
          ...orderingIndexes('images'),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_images_pullSecretId',
            columnNames: ['pullSecretId'],
            referencedTableName: 'image_pull_secrets',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'image_group_links',
        columns: [
          { ...col.id(), name: 'imageId' },
          { ...col.id(), name: 'groupId' },
        ],
        indices: [new TableIndex({ name: 'IDX_image_group_links_groupId', columnNames: ['groupId', 'imageId'] })],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_image_group_links_imageId',
            columnNames: ['imageId'],
            referencedTableName: 'images',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            name: 'FK_image_group_links_groupId',
            columnNames: ['groupId'],
            referencedTableName: 'user_groups',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('image_group_links');
    await queryRunner.dropTable('images');
    await queryRunner.dropTable('user_groups');
    await queryRunner.dropTable('image_pull_secrets');
  }
}

/** Indexes behind the keyset orderings (order column, then id as the tie-breaker). */
function orderingIndexes(table: string): TableIndex[] {
  return ['displayName', 'createdAt', 'updatedAt'].map(
    (column) => new TableIndex({ name: `IDX_${table}_${column}_id`, columnNames: [column, 'id'] }),
  );
}
