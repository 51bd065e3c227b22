import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';
import { columnFactory } from './column-factory';

/** The last registry check of each image (see image-availability.entity.ts); gone with its image. */
export class ImageAvailability1765000000000 implements MigrationInterface {
  name = 'ImageAvailability1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const col = columnFactory(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'image_availability',
        columns: [
          { ...col.id(), name: 'imageId' },
          col.text('state', 16),
          col.text('urlState', 16),
          col.text('gpuUrlState', 16, true),
          col.longText('checks'),
          { name: 'checkedAt', type: 'datetime', precision: 3, isNullable: false },
        ],
        indices: [
          // The recheck takes the oldest results first; the list filters on the state.
          new TableIndex({ name: 'IDX_image_availability_checkedAt', columnNames: ['checkedAt'] }),
          new TableIndex({ name: 'IDX_image_availability_state', columnNames: ['state'] }),
        ],
        foreignKeys: [
          new TableForeignKey({ name: 'FK_image_availability_image', columnNames: ['imageId'], referencedTableName: 'images', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('image_availability');
  }
}
