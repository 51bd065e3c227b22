import { Column, Entity, JoinColumn, ManyToOne } from 'typeorm';
import { NamedEntity } from '../db/base.entity';
import type { ImageType } from '../generated/graphql';
import { Group } from '../groups/group.entity';
import { ImagePullSecret } from '../pull-secrets/image-pull-secret.entity';

@Entity({ name: 'images' })
export class Image extends NamedEntity {
  @Column({ type: 'varchar', length: 2000, nullable: true })
  description: string | null;

  @Column({ type: 'varchar', length: 16 })
  type: ImageType;

  @Column({ type: 'varchar', length: 512 })
  url: string;

  @Column({ type: 'varchar', length: 512, nullable: true })
  urlForGpu: string | null;

  @Column({ type: 'varchar', length: 36, nullable: true })
  pullSecretId: string | null;

  // Declared for the foreign key only; the relation is read through the pullSecretById loader.
  @ManyToOne(() => ImagePullSecret, { onDelete: 'RESTRICT', createForeignKeyConstraints: true })
  @JoinColumn({ name: 'pullSecretId' })
  pullSecret?: ImagePullSecret;

  @Column({ type: 'boolean' })
  global: boolean;

  /** The group whose own admins manage the image; null for a platform image. Never changes. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  ownerGroupId: string | null;

  // Declared for the foreign key only; the owner is read through the groupById loader.
  @ManyToOne(() => Group, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'ownerGroupId' })
  ownerGroup?: Group;

  /** A disabled image stays in the catalog (and keeps its groups) but no launcher offers it. */
  @Column({ type: 'boolean' })
  enabled: boolean;

  @Column({ type: 'int' })
  version: number;
}
