import { Brackets, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { entities, hydratorsKept } from '../src/db/entity-rows';
import { count, isCached, queryAndParameters, rawRows, shapesCached } from '../src/db/statement-cache';
import { Group } from '../src/groups/group.entity';
import { ImageGroupLink } from '../src/images/image-group-link.entity';
import { Image } from '../src/images/image.entity';
import { createGroup, createImage, createPullSecret } from './helpers/factories';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
let images: { id: string; name: string }[] = [];
let groupIds: string[] = [];
beforeAll(async () => {
  app = await startTestApp();
  groupIds = [(await createGroup(app)).id, (await createGroup(app)).id];
  const secret = await createPullSecret(app);
  for (let i = 0; i < 6; i++) {
    images.push(await createImage(app, { type: i % 2 === 0 ? 'CPU' : 'GPU', pullSecretId: i % 3 === 0 ? secret.id : null, groupIds: i < 4 ? groupIds.slice(0, 1 + (i % 2)) : [] }));
  }
  images = images.sort((a, b) => (a.name < b.name ? -1 : 1));
});
afterAll(() => app.close());

const imagesQb = () => app.dataSource.getRepository(Image).createQueryBuilder('image');
const idsIn = (ids: string[]) => imagesQb().where('image.id IN (:...ids)', { ids }).orderBy('image.name', 'ASC');

describe('statement cache: one SQL text per query shape, parameters bound per run', () => {
  it('sends what TypeORM would send, for every size of an IN list and both runs of a shape', () => {
    for (const size of [1, 3, 6, 3]) {
      const qb = idsIn(images.slice(0, size).map((image) => image.id));
      expect(queryAndParameters(qb)).toEqual(qb.getQueryAndParameters());
    }
  });

  it('answers each run with its own parameters, from one cached text', async () => {
    const metadata = app.dataSource.getMetadata(Image);
    const before = shapesCached(metadata);
    const run = async (type: string, ids: string[]) => {
      const qb = imagesQb().select(['image.id', 'image.name']).where('image.type = :type', { type }).andWhere('image.id IN (:...ids)', { ids }).orderBy('image.name', 'ASC');
      return (await rawRows(qb)).map((row) => row.image_name);
    };
    const all = images.map((image) => image.id);
    const cpu = await run('CPU', all);
    const gpu = await run('GPU', all.slice(0, 4));
    expect(shapesCached(metadata)).toBe(before + 1);
    expect(cpu).toEqual((await imagesQb().where('image.type = :t', { t: 'CPU' }).orderBy('image.name').getMany()).map((image) => image.name));
    expect(gpu).toEqual((await imagesQb().where('image.type = :t AND image.id IN (:...ids)', { t: 'GPU', ids: all.slice(0, 4) }).orderBy('image.name').getMany()).map((image) => image.name));
  });

  it('keeps apart shapes that differ in selection, join, order, limit or condition', () => {
    const shapes: SelectQueryBuilder<ObjectLiteral>[] = [
      imagesQb().where('image.id = :id', { id: 'a' }),
      imagesQb().select(['image.id']).where('image.id = :id', { id: 'a' }),
      imagesQb().where('image.name = :id', { id: 'a' }),
      imagesQb().where('image.id = :id', { id: 'a' }).orderBy('image.name', 'DESC'),
      imagesQb().where('image.id = :id', { id: 'a' }).orderBy('image.name', 'ASC'),
      imagesQb().where('image.id = :id', { id: 'a' }).limit(5),
      imagesQb().where('image.id = :id', { id: 'a' }).orWhere('image.global = :g', { g: true }),
      imagesQb().innerJoin(ImageGroupLink, 'link', 'link.imageId = image.id').where('image.id = :id', { id: 'a' }),
      imagesQb().leftJoin(ImageGroupLink, 'link', 'link.imageId = image.id').where('image.id = :id', { id: 'a' }),
      app.dataSource.getRepository(Group).createQueryBuilder('image').where('image.id = :id', { id: 'a' }),
    ];
    // Each twice: the second run comes from the cache and must still be its own text.
    for (const qb of [...shapes, ...shapes]) expect(queryAndParameters(qb)).toEqual(qb.getQueryAndParameters());
  });

  it('does not cache what it does not know how to tell apart, and still runs it', async () => {
    const metadata = app.dataSource.getMetadata(Image);
    const before = shapesCached(metadata);
    const uncached = [
      imagesQb().where(new Brackets((where) => where.where('image.type = :t', { t: 'CPU' }).orWhere('image.global = :g', { g: true }))),
      imagesQb().offset(1).limit(2).orderBy('image.name'),
      imagesQb().groupBy('image.type').select('image.type', 'type'),
      imagesQb().distinct(true).select('image.type', 'type'),
    ];
    for (const qb of uncached) {
      expect(queryAndParameters(qb)).toEqual(qb.getQueryAndParameters());
      expect(await rawRows(qb)).toEqual(await qb.getRawMany());
    }
    expect(shapesCached(metadata)).toBe(before);
  });

  it('makes room for new shapes when full: a burst of odd ones costs renderings, never the cache', () => {
    const groups = () => app.dataSource.getRepository(Group).createQueryBuilder('grp').select(['grp.id', 'grp.name']);
    for (let limit = 1; limit <= 520; limit++) queryAndParameters(groups().limit(limit));
    expect(shapesCached(app.dataSource.getMetadata(Group))).toBe(500);
    expect(isCached(groups().limit(1))).toBe(false);
    expect(isCached(groups().limit(520))).toBe(true);
    const fresh = groups().where('grp.name = :name', { name: 'x' });
    expect(queryAndParameters(fresh)).toEqual(fresh.getQueryAndParameters());
    expect(isCached(fresh)).toBe(true);
  });

  it('counts as getCount() does, with and without conditions and joins', async () => {
    const cases = [
      imagesQb(),
      imagesQb().where('image.type = :t', { t: 'GPU' }),
      imagesQb().where('image.id IN (SELECT link.imageId FROM image_group_links link WHERE link.groupId = :g)', { g: groupIds[1] }).orderBy('image.name').limit(1),
      imagesQb().innerJoin(ImageGroupLink, 'link', 'link.imageId = image.id'),
    ];
    for (const qb of cases) expect(await count(qb)).toBe(await qb.getCount());
    expect(await count(cases[2])).toBe(2);
  });
});

describe('compiled hydration: the same entities as TypeORM builds', () => {
  it('whole rows: instances of the entity with the same properties and values as getMany()', async () => {
    const ours = await entities(imagesQb().orderBy('image.name', 'ASC'));
    const typeorm = await imagesQb().orderBy('image.name', 'ASC').getMany();
    expect(ours).toEqual(typeorm);
    expect(ours.every((image) => image instanceof Image && image.createdAt instanceof Date && typeof image.global === 'boolean')).toBe(true);
    expect(ours.map((image) => Object.keys(image).sort())).toEqual(typeorm.map((image) => Object.keys(image).sort()));
  });

  it('partial rows: only the selected properties, as getMany() gives them', async () => {
    const partial = () => imagesQb().select(['image.id', 'image.name', 'image.pullSecretId', 'image.enabled']).orderBy('image.name', 'ASC');
    const ours = await entities(partial());
    expect(ours).toEqual(await partial().getMany());
    expect(Object.keys(ours[0]).sort()).toEqual(['enabled', 'id', 'name', 'pullSecretId']);
    expect(ours.some((image) => image.pullSecretId === null)).toBe(true);
  });
  it('past 64 column sets per entity and alias, TypeORM\'s way, with the same entities', async () => {
    const columns = ['name', 'displayName', 'description', 'createdAt', 'updatedAt', 'createdBy', 'updatedBy'];
    for (let mask = 0; mask < 80; mask++) {
      const chosen = columns.filter((_, i) => mask & (1 << i));
      const qb = () => app.dataSource.getRepository(Group).createQueryBuilder('grp').select(['grp.id', ...chosen.map((column) => `grp.${column}`)]).orderBy('grp.id', 'ASC');
      expect(await entities(qb())).toEqual(await qb().getMany());
    }
    expect(hydratorsKept(app.dataSource.getMetadata(Group), 'grp')).toBe(64);
  });
});
