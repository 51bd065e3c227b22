/**
 * The strongest honest floor: the least SQL that produces the JSON the service answers, as a new
 * user would write it by hand. Only the columns the answer needs, independent statements sent
 * together (the page beside its count, groups beside pull secrets, the launcher's group check
 * beside its query), through one mysql2 pool of the service's size behind a bare `node:http`
 * handler. No GraphQL, no TypeORM, no token check. bench/raw-floor.ts, by contrast, runs the
 * service's own statements.
 *
 * Run by bench.ts as a child process (`DATABASE_URL`, `DB_POOL_SIZE`); prints its URL when it
 * listens (support/floor-server.ts). Answers the operations named at the end.
 */
import type { Pool } from 'mysql2/promise';
import { query, serveFloor } from './support/floor-server';

const PAGE = 50;

const iso = (value: unknown) => (value as Date).toISOString();

/** `images(first: 50, after) { totalCount nodes { 12 fields, groups { id name displayName }, pullSecret { id name } } pageInfo }` */
async function page(pool: Pool, after: string | null): Promise<unknown> {
  const name = after ? (JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as [string])[0] : undefined;
  const [rows, count] = await Promise.all([
    query(
      pool,
      `SELECT id, name, displayName, description, type, url, urlForGpu, global, enabled, version, createdAt, updatedAt, pullSecretId FROM images ${name ? 'WHERE name > ?' : ''} ORDER BY name LIMIT ?`,
      [...(name ? [name] : []), PAGE + 1],
    ),
    query(pool, 'SELECT COUNT(*) AS n FROM images', []),
  ]);
  const nodes = rows.slice(0, PAGE);
  const ids = nodes.map((row) => row.id as string);
  const secretIds = [...new Set(nodes.map((row) => row.pullSecretId as string | null).filter((id): id is string => id !== null))];
  const [links, secrets] = await Promise.all([
    ids.length === 0
      ? []
      : query(pool, 'SELECT link.imageId, grp.id, grp.name, grp.displayName FROM image_group_links link INNER JOIN user_groups grp ON grp.id = link.groupId WHERE link.imageId IN (?) ORDER BY grp.nameKey', [ids]),
    secretIds.length === 0 ? [] : query(pool, 'SELECT id, name FROM image_pull_secrets WHERE id IN (?)', [secretIds]),
  ]);
  const groupsOf = new Map<string, unknown[]>();
  for (const link of links) groupsOf.set(link.imageId, [...(groupsOf.get(link.imageId) ?? []), { id: link.id, name: link.name, displayName: link.displayName }]);
  const secretOf = new Map(secrets.map((secret) => [secret.id as string, { id: secret.id, name: secret.name }]));
  const last = nodes[nodes.length - 1];
  return {
    images: {
      totalCount: Number(count[0].n),
      nodes: nodes.map((row) => ({
        id: row.id,
        name: row.name,
        displayName: row.displayName,
        description: row.description,
        type: row.type,
        url: row.url,
        urlForGpu: row.urlForGpu,
        global: Boolean(row.global),
        enabled: Boolean(row.enabled),
        version: row.version,
        createdAt: iso(row.createdAt),
        updatedAt: iso(row.updatedAt),
        groups: groupsOf.get(row.id) ?? [],
        pullSecret: row.pullSecretId ? (secretOf.get(row.pullSecretId) ?? null) : null,
      })),
      pageInfo: { endCursor: last ? Buffer.from(JSON.stringify([last.name])).toString('base64url') : null, hasNextPage: rows.length > PAGE },
    },
  };
}

/** `launchableImages(groupId, gpu) { id name displayName urlFor(gpu) pullSecret { id name } }`, the group's existence checked beside it. */
async function launch(pool: Pool, groupId: string, gpu: boolean): Promise<unknown> {
  const [group, rows] = await Promise.all([
    query(pool, 'SELECT id FROM user_groups WHERE id = ?', [groupId]),
    query(
      pool,
      `SELECT image.id, image.name, image.displayName, image.type, image.url, image.urlForGpu, secret.id AS secretId, secret.name AS secretName
       FROM images image LEFT JOIN image_pull_secrets secret ON secret.id = image.pullSecretId
       WHERE (image.global = 1 OR image.id IN (SELECT link.imageId FROM image_group_links link WHERE link.groupId = ?)) AND image.type IN (?) AND image.enabled = 1
       ORDER BY image.displayNameKey, image.name`,
      [groupId, gpu ? ['CPU', 'GPU', 'UNIVERSAL'] : ['CPU', 'UNIVERSAL']],
    ),
  ]);
  if (group.length === 0) throw new Error(`no group ${groupId}`);
  return {
    launchableImages: rows.map((row) => ({
      id: row.id,
      name: row.name,
      displayName: row.displayName,
      urlFor: gpu && row.type === 'UNIVERSAL' && row.urlForGpu ? row.urlForGpu : row.url,
      pullSecret: row.secretId ? { id: row.secretId, name: row.secretName } : null,
    })),
  };
}

/** `image(name) { id name groups { id name } }`: the image and its groups, both by the name, together. */
async function lookup(pool: Pool, name: string): Promise<unknown> {
  const [images, groups] = await Promise.all([
    query(pool, 'SELECT id, name FROM images WHERE name = ?', [name]),
    query(
      pool,
      'SELECT grp.id, grp.name FROM images image INNER JOIN image_group_links link ON link.imageId = image.id INNER JOIN user_groups grp ON grp.id = link.groupId WHERE image.name = ? ORDER BY grp.nameKey',
      [name],
    ),
  ]);
  const image = images[0];
  return { image: image ? { id: image.id, name: image.name, groups: groups.map((g) => ({ id: g.id, name: g.name })) } : null };
}

/** `_entities` of images by id: one statement. */
async function entities(pool: Pool, representations: { id: string }[]): Promise<unknown> {
  const rows = await query(pool, 'SELECT id, name, displayName, type, url FROM images WHERE id IN (?)', [[...new Set(representations.map((r) => r.id))]]);
  const byId = new Map(rows.map((row) => [row.id as string, { id: row.id, name: row.name, displayName: row.displayName, type: row.type, url: row.url }]));
  return { _entities: representations.map((r) => byId.get(r.id) ?? null) };
}

serveFloor('strong floor', {
  Page: (pool, variables) => page(pool, (variables.after as string | null) ?? null),
  LaunchCpu: (pool, variables) => launch(pool, variables.groupId as string, false),
  LaunchGpu: (pool, variables) => launch(pool, variables.groupId as string, true),
  Lookup: (pool, variables) => lookup(pool, variables.name as string),
  Entities: (pool, variables) => entities(pool, variables.r as { id: string }[]),
});
