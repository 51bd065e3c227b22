import { Column, Entity } from 'typeorm';
import { NamedEntity } from '../db/base.entity';

@Entity({ name: 'user_groups' })
export class Group extends NamedEntity {
  @Column({ type: 'varchar', length: 2000, nullable: true })
  description: string | null;
}
