import { Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Group } from '../groups/group.entity';
import { Image } from './image.entity';

/** Which groups may use which non-global images. Rows go with either side when it is deleted. */
@Entity({ name: 'image_group_links' })
export class ImageGroupLink {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  imageId: string;

  @PrimaryColumn({ type: 'varchar', length: 36 })
  groupId: string;

  @ManyToOne(() => Image, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'imageId' })
  image?: Image;

  @ManyToOne(() => Group, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'groupId' })
  group?: Group;
}
