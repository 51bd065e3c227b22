import DataLoader from 'dataloader';
import { DataSource, In } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { entities } from '../db/entity-rows';
import { linkedLoader, lookupLoaders, manyByKey, oneByKey, scoped } from '../db/loader-helpers';
import { ImageAvailabilityRecord } from './image-availability.entity';
import { ImageGroupLink } from './image-group-link.entity';
import { Image } from './image.entity';

export function createImageLoaders(dataSource: DataSource, access: AccessPolicy) {
  const images = dataSource.getRepository(Image);
  const { byId: imageById, byName: imageByName } = lookupLoaders(images, (alias) => access.visibleImages(alias));
  // A member reaches only their own groups, and every enabled image linked to one of them is visible.
  const imagesByGroupId = linkedLoader(
    images,
    'image',
    { link: ImageGroupLink, as: 'link', on: 'link.imageId = image.id', key: 'groupId' },
    [access.visibleGroupId('link.groupId'), access.enabledImages('image')],
    'image.name',
  );
  const imagesByPullSecretId = new DataLoader<string, Image[]>(async (secretIds) => {
    const qb = images.createQueryBuilder('image').where('image.pullSecretId IN (:...secretIds)', { secretIds: [...secretIds] });
    const rows = await entities(scoped(qb, access.visibleImages('image')).orderBy('image.name', 'ASC'));
    return manyByKey(secretIds, rows, (i) => i.pullSecretId as string);
  });
  // Every caller who can see an image may see its availability: no scope of its own.
  const availabilityByImageId = new DataLoader<string, ImageAvailabilityRecord | null>(async (imageIds) => {
    const rows = await dataSource.getRepository(ImageAvailabilityRecord).findBy({ imageId: In([...imageIds]) });
    return oneByKey(imageIds, rows, (row) => row.imageId);
  });
  return { imageById, imageByName, imagesByGroupId, imagesByPullSecretId, availabilityByImageId };
}

export type ImageLoaders = ReturnType<typeof createImageLoaders>;
