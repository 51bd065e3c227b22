import { Column, Entity } from 'typeorm';
import { BaseEntity } from '../db/base.entity';

@Entity({ name: 'user_groups' })
export class Group extends BaseEntity {
  @Column({ type: 'varchar', length: 63 })
  name: string;

  @Column({ type: 'varchar', length: 100 })
  displayName: string;

  @Column({ type: 'varchar', length: 2000, nullable: true })
  description: string | null;
}
