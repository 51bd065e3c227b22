import { Column, Entity } from 'typeorm';
import { NamedEntity } from '../db/base.entity';

@Entity({ name: 'image_pull_secrets' })
export class ImagePullSecret extends NamedEntity {
  @Column({ type: 'varchar', length: 255 })
  registryHost: string;

  @Column({ type: 'varchar', length: 255 })
  username: string;

  // select: false keeps the write-only password out of every ordinary read; it is stored sealed
  // (see password-cipher.ts), never in clear.
  @Column({ type: 'text', select: false })
  password?: string;
}
