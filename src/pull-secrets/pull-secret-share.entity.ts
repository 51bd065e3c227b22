import { Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Group } from '../groups/group.entity';
import { ImagePullSecret } from './image-pull-secret.entity';

/** Which groups' own images may use which pull secret; platform admins share them. */
@Entity({ name: 'image_pull_secret_groups' })
export class PullSecretShare {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  pullSecretId: string;

  @PrimaryColumn({ type: 'varchar', length: 36 })
  groupId: string;

  // Declared for the foreign keys only; the relations are read through loaders.
  @ManyToOne(() => ImagePullSecret, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'pullSecretId' })
  pullSecret?: ImagePullSecret;

  @ManyToOne(() => Group, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'groupId' })
  group?: Group;
}
