import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { columnFactory, tableToAlter } from './column-factory';

const AUDITED_TABLES = ['images', 'user_groups', 'image_pull_secrets'];

/**
 * Who made and changed each record, the audit trail, and room for sealed (encrypted) passwords:
 * an AES-GCM envelope in base64 is a third longer than the password it hides. Passwords stored in
 * clear by earlier versions are sealed by the service at start (a migration has no key).
 */
export class AccessControl1764100000000 implements MigrationInterface {
  name = 'AccessControl1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const col = columnFactory(queryRunner);
    for (const table of AUDITED_TABLES) {
      await queryRunner.addColumns(await tableToAlter(queryRunner, table), [
        new TableColumn(col.text('createdBy', 255, true)),
        new TableColumn(col.text('updatedBy', 255, true)),
      ]);
    }
    await queryRunner.changeColumn(await tableToAlter(queryRunner, 'image_pull_secrets'), 'password', new TableColumn(col.longText('password')));

    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          col.id(),
          { name: 'occurredAt', type: 'datetime', precision: 3, isNullable: false },
          col.text('actor', 255),
          col.text('operation', 32),
          col.text('entityType', 32),
          { ...col.id(), name: 'entityId', isPrimary: false },
          col.text('entityName', 63),
          col.longText('changes'),
        ],
        indices: [
          // The trail is read newest first, whole or for one record or one actor.
          new TableIndex({ name: 'IDX_audit_events_occurredAt_id', columnNames: ['occurredAt', 'id'] }),
          new TableIndex({ name: 'IDX_audit_events_entity', columnNames: ['entityType', 'entityId', 'occurredAt'] }),
          new TableIndex({ name: 'IDX_audit_events_actor', columnNames: ['actor', 'occurredAt'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const col = columnFactory(queryRunner);
    await queryRunner.dropTable('audit_events');
    await queryRunner.changeColumn(await tableToAlter(queryRunner, 'image_pull_secrets'), 'password', new TableColumn(col.text('password', 1024)));
    for (const table of AUDITED_TABLES) {
      await queryRunner.dropColumns(await tableToAlter(queryRunner, table), ['updatedBy', 'createdBy']);
    }
  }
}
