import { Column, Entity } from 'typeorm';
import { NamedEntity } from '../db/base.entity';

@Entity({ name: 'user_groups' })
export class Group extends NamedEntity {
  @Column({ type: 'varchar', length: 2000, nullable: true })
  description: string | null;

  /**
   * The name in lower case, compared byte for byte: group names may hold `_` and `-`, which
   * MariaDB's collation orders before digits and SQLite's after; lists by name sort by this.
   */
  @Column({ type: 'varchar', length: 63 })
  nameKey: string;
}
