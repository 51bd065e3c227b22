import DataLoader from 'dataloader';
import { DataSource, In } from 'typeorm';
import { manyByKey, nameKey, oneByKey } from '../db/loader-helpers';
import { ImageGroupLink } from '../images/image-group-link.entity';
import { Group } from './group.entity';

export function createGroupLoaders(dataSource: DataSource) {
  const groups = dataSource.getRepository(Group);
  const groupById: DataLoader<string, Group | null> = new DataLoader(async (ids) =>
    oneByKey(ids, await groups.findBy({ id: In([...ids]) }), (g) => g.id),
  );
  const groupByName: DataLoader<string, Group | null> = new DataLoader(
    async (names) => oneByKey(names, await groups.findBy({ name: In([...names]) }), (g) => nameKey(g.name)),
    { cacheKeyFn: nameKey },
  );
  const groupsByImageId = new DataLoader<string, Group[]>(async (imageIds) => {
    const links = await dataSource
      .getRepository(ImageGroupLink)
      .createQueryBuilder('link')
      .innerJoinAndSelect('link.group', 'grp')
      .where('link.imageId IN (:...imageIds)', { imageIds: [...imageIds] })
      .orderBy('grp.name', 'ASC')
      .getMany();
    return manyByKey(imageIds, links, (l) => l.imageId).map((list) => list.map((l) => l.group as Group));
  });
  return { groupById, groupByName, groupsByImageId };
}

export type GroupLoaders = ReturnType<typeof createGroupLoaders>;
