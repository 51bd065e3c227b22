import { Column, Entity } from 'typeorm';
import { NamedEntity } from '../db/base.entity';

@Entity({ name: 'image_pull_secrets' })
export class ImagePullSecret extends NamedEntity {
  @Column({ type: 'varchar', length: 255 })
  registryHost: string;

  @Column({ type: 'varchar', length: 255 })
  username: string;

  // select: false keeps the write-only password out of every ordinary read.
  @Column({ type: 'varchar', length: 1024, select: false })
  password?: string;
}
