/**
 * The raw floor: the least this stack can do for the list and launcher requests. A bare
 * `node:http` handler that runs the statements the service runs, straight through a mysql2 pool
 * of the service's size, and writes the same JSON. No GraphQL, no TypeORM, no token check.
 *
 * Run by bench.ts as a child process (`DATABASE_URL`, `DB_POOL_SIZE`); prints its URL when it
 * listens. Answers `List` and `Launch` operations at any path, and `/metrics` with its statement count.
 */
import type { Pool } from 'mysql2/promise';
import { query, serveFloor } from './support/floor-server';

const PAGE = 50;
// The columns TypeORM selects when it hydrates each entity.
const IMAGE_COLUMNS = 'image.id, image.name, image.displayName, image.displayNameKey, image.description, image.type, image.url, image.urlForGpu, image.pullSecretId, image.ownerGroupId, image.global, image.enabled, image.version, image.createdAt, image.updatedAt, image.createdBy, image.updatedBy';
const GROUP_COLUMNS = 'grp.id, grp.name, grp.displayName, grp.displayNameKey, grp.nameKey, grp.description, grp.createdAt, grp.updatedAt, grp.createdBy, grp.updatedBy';

/** The keyset page by the unique name, as the service pages, with the groups and the pull secret of each image, as the loaders batch them. */
async function listPage(pool: Pool, after: string | null): Promise<unknown> {
  const position = after ? (JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as [string, string]) : undefined;
  const rows = await query(
    pool,
    `SELECT ${IMAGE_COLUMNS} FROM images image ${position ? 'WHERE image.name > ?' : ''} ORDER BY image.name ASC LIMIT ?`,
    [...(position ? [position[0]] : []), PAGE + 1],
  );
  const nodes = rows.slice(0, PAGE);
  const ids = nodes.map((row) => row.id as string);
  const secretIds = [...new Set(nodes.map((row) => row.pullSecretId as string | null).filter((id): id is string => id !== null))];
  const [links, secrets] = await Promise.all([
    ids.length === 0
      ? []
      : query(pool, `SELECT link.imageId, link.groupId, ${GROUP_COLUMNS} FROM image_group_links link INNER JOIN user_groups grp ON grp.id = link.groupId WHERE link.imageId IN (?) ORDER BY grp.nameKey ASC`, [ids]),
    secretIds.length === 0
      ? []
      : query(pool, 'SELECT record.id, record.name, record.displayName, record.displayNameKey, record.registryHost, record.username, record.createdAt, record.updatedAt, record.createdBy, record.updatedBy FROM image_pull_secrets record WHERE record.id IN (?)', [secretIds]),
  ]);
  const groupsOf = new Map<string, { id: string; name: string }[]>();
  for (const link of links) {
    const list = groupsOf.get(link.imageId) ?? [];
    list.push({ id: link.id, name: link.name });
    groupsOf.set(link.imageId, list);
  }
  const secretOf = new Map(secrets.map((secret) => [secret.id as string, { name: secret.name as string }]));
  const last = nodes[nodes.length - 1];
  return {
    images: {
      nodes: nodes.map((row) => ({
        id: row.id,
        name: row.name,
        displayName: row.displayName,
        type: row.type,
        url: row.url,
        urlForGpu: row.urlForGpu,
        global: Boolean(row.global),
        version: row.version,
        groups: groupsOf.get(row.id) ?? [],
        pullSecret: row.pullSecretId ? (secretOf.get(row.pullSecretId) ?? null) : null,
      })),
      pageInfo: { endCursor: last ? Buffer.from(JSON.stringify([last.name, last.id])).toString('base64url') : null, hasNextPage: rows.length > PAGE },
    },
  };
}

/** The group check the service makes (it answers NOT_FOUND otherwise), then `ImageService.launchable`'s query. */
async function launchable(pool: Pool, groupId: string): Promise<unknown> {
  const groups = await query(pool, `SELECT ${GROUP_COLUMNS} FROM user_groups grp WHERE grp.id IN (?)`, [[groupId]]);
  if (groups.length === 0) throw new Error(`no group ${groupId}`);
  const rows = await query(
    pool,
    `SELECT ${IMAGE_COLUMNS} FROM images image WHERE (image.global = ? OR image.id IN (SELECT link.imageId FROM image_group_links link WHERE link.groupId = ?)) AND image.type IN (?) AND image.enabled = ? ORDER BY image.displayNameKey ASC, image.name ASC`,
    [true, groupId, ['CPU', 'GPU', 'UNIVERSAL'], true],
  );
  return { launchableImages: rows.map((row) => ({ id: row.id, name: row.name, urlFor: row.type === 'UNIVERSAL' && row.urlForGpu ? row.urlForGpu : row.url })) };
}

serveFloor('raw floor', {
  List: (pool, variables) => listPage(pool, (variables.after as string | null) ?? null),
  Launch: (pool, variables) => launchable(pool, variables.groupId as string),
});
