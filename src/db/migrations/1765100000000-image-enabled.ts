import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { tableToAlter } from './column-factory';

/** Images can be disabled without being deleted; every existing image stays enabled. */
export class ImageEnabled1765100000000 implements MigrationInterface {
  name = 'ImageEnabled1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(await tableToAlter(queryRunner, 'images'), new TableColumn({ name: 'enabled', type: 'boolean', isNullable: false, default: 1 }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn(await tableToAlter(queryRunner, 'images'), 'enabled');
  }
}
