import { MigrationInterface, QueryRunner, Table, TableColumn, TableForeignKey, TableIndex } from 'typeorm';
import { columnFactory, tableToAlter } from './column-factory';

/**
 * Images a group owns (managed by the group's own admins), and the pull secrets a platform admin
 * shares with a group, which its images may use.
 */
export class GroupImages1765300000000 implements MigrationInterface {
  name = 'GroupImages1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const col = columnFactory(queryRunner);
    const images = await tableToAlter(queryRunner, 'images');
    await queryRunner.addColumn(images, new TableColumn({ ...col.id(), name: 'ownerGroupId', isPrimary: false, isNullable: true }));
    await queryRunner.createIndex('images', new TableIndex({ name: 'IDX_images_ownerGroupId', columnNames: ['ownerGroupId'] }));
    // A group that owns images cannot go before they do (the service answers CONFLICT first).
    await queryRunner.createForeignKey(
      'images',
      new TableForeignKey({ name: 'FK_images_ownerGroupId', columnNames: ['ownerGroupId'], referencedTableName: 'user_groups', referencedColumnNames: ['id'], onDelete: 'RESTRICT' }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'image_pull_secret_groups',
        columns: [
          { ...col.id(), name: 'pullSecretId' },
          { ...col.id(), name: 'groupId' },
        ],
        indices: [new TableIndex({ name: 'IDX_image_pull_secret_groups_groupId', columnNames: ['groupId', 'pullSecretId'] })],
        foreignKeys: [
          new TableForeignKey({ name: 'FK_image_pull_secret_groups_secret', columnNames: ['pullSecretId'], referencedTableName: 'image_pull_secrets', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
          new TableForeignKey({ name: 'FK_image_pull_secret_groups_group', columnNames: ['groupId'], referencedTableName: 'user_groups', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('image_pull_secret_groups');
    await queryRunner.dropForeignKey('images', 'FK_images_ownerGroupId');
    await queryRunner.dropIndex('images', 'IDX_images_ownerGroupId');
    await queryRunner.dropColumn(await tableToAlter(queryRunner, 'images'), 'ownerGroupId');
  }
}
