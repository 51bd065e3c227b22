import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, ObjectLiteral, EntityTarget } from 'typeorm';
import type { DatabaseConfig } from '../../src/config';
import { createDataSource } from '../../src/db/data-source';
import type { ImageType } from '../../src/generated/graphql';
import { SEARCHABLE, textKeys } from '../../src/common/text-keys';
import { Group } from '../../src/groups/group.entity';
import { groupKeys } from '../../src/groups/group.service';
import { ImageGroupLink } from '../../src/images/image-group-link.entity';
import { Image } from '../../src/images/image.entity';
import { ImagePullSecret } from '../../src/pull-secrets/image-pull-secret.entity';
import { PasswordCipher } from '../../src/pull-secrets/password-cipher';

export interface DatasetShape {
  images: number;
  groups: number;
  pullSecrets: number;
  /** Share of global images, in percent. */
  globalPercent: number;
  /** Share of images with a pull secret, in percent. */
  pullSecretPercent: number;
  maxGroupsPerImage: number;
  /** Usable images (global + linked) the launcher group gets. */
  launcherUsable: number;
}

/**
 * The issue asks for 30% global images and a launcher group with about 400 usable images; both
 * cannot hold, since every global image is usable by every group (3,000 of 10,000). The launcher
 * size is what the scenario measures, so global images default to 3%; `--global-percent 30`
 * gives the literal shape (the launcher then answers about 3,100 images).
 */
export const DEFAULT_SHAPE: DatasetShape = {
  images: 10_000,
  groups: 500,
  pullSecrets: 50,
  globalPercent: 3,
  pullSecretPercent: 40,
  maxGroupsPerImage: 8,
  launcherUsable: 400,
};

export interface Dataset {
  imageIds: string[];
  imageNames: string[];
  groupIds: string[];
  launcherGroupId: string;
  launcherUsable: number;
  links: number;
  loadSeconds: number;
}

const ACTOR = 'bench-seed';
const CHUNK = 500;

/** Loads the catalog through the service's own entities and migrations, in one transaction. */
export async function loadDataset(database: DatabaseConfig, secretsKey: Buffer, shape: DatasetShape = DEFAULT_SHAPE): Promise<Dataset> {
  const started = performance.now();
  const dataSource = createDataSource(database, { poolSize: 2 });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations();
    const rows = generate(shape, new PasswordCipher(secretsKey), seededRandom(6));
    await dataSource.transaction(async (m) => {
      await insertChunked(m, Group, rows.groups);
      await insertChunked(m, ImagePullSecret, rows.secrets);
      await insertChunked(m, Image, rows.images);
      await insertChunked(m, ImageGroupLink, rows.links);
    });
    return {
      imageIds: rows.images.map((i) => i.id),
      imageNames: rows.images.map((i) => i.name),
      groupIds: rows.groups.map((g) => g.id),
      launcherGroupId: rows.groups[0].id,
      launcherUsable: await usableCount(dataSource, rows.groups[0].id),
      links: rows.links.length,
      loadSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    await dataSource.destroy();
  }
}

async function insertChunked<T extends ObjectLiteral>(m: EntityManager, entity: EntityTarget<T>, rows: T[]): Promise<void> {
  for (let start = 0; start < rows.length; start += CHUNK) await m.insert(entity, rows.slice(start, start + CHUNK));
}

async function usableCount(dataSource: DataSource, groupId: string): Promise<number> {
  const [row] = (await dataSource.query(
    'SELECT COUNT(*) AS n FROM images WHERE global = ? OR id IN (SELECT imageId FROM image_group_links WHERE groupId = ?)',
    [true, groupId],
  )) as { n: number | string }[];
  return Number(row.n);
}

const FRAMEWORKS = ['pytorch', 'tensorflow', 'jax', 'scipy', 'rstudio', 'julia', 'spark', 'huggingface', 'rapids', 'minimal', 'datascience', 'sagemath'];
const VARIANTS = ['notebook', 'lab', 'vscode', 'desktop', 'batch', 'serving'];
const TEAMS = ['vision', 'nlp', 'speech', 'robotics', 'genomics', 'climate', 'finance', 'search', 'ads', 'platform'];
const WORDS = ['with', 'CUDA', 'drivers', 'preinstalled', 'conda', 'environment', 'for', 'training', 'and', 'inference', 'includes', 'JupyterLab', 'extensions', 'pinned', 'versions', 'of', 'common', 'libraries', 'tuned', 'large', 'datasets'];

interface Rows {
  groups: Group[];
  secrets: ImagePullSecret[];
  images: Image[];
  links: ImageGroupLink[];
}

function generate(shape: DatasetShape, cipher: PasswordCipher, random: () => number): Rows {
  const base = Date.UTC(2025, 0, 1);
  const at = (i: number) => new Date(base + i * 60_000);
  const stamps = (i: number) => ({ createdAt: at(i), updatedAt: at(i), createdBy: ACTOR, updatedBy: ACTOR });
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const groups = Array.from({ length: shape.groups }, (_, i) => {
    const name = `${TEAMS[i % TEAMS.length]}-team-${String(i).padStart(3, '0')}`;
    const group = Object.assign(new Group(), { id: randomUUID(), name, displayName: `Team ${TEAMS[i % TEAMS.length]} ${i}`, description: `Researchers of the ${TEAMS[i % TEAMS.length]} lab, unit ${i}`, ...stamps(i) });
    return Object.assign(group, groupKeys(group));
  });
  const secrets = Array.from({ length: shape.pullSecrets }, (_, i) => {
    const id = randomUUID();
    const name = `registry-${String(i).padStart(2, '0')}`;
    const secret = Object.assign(new ImagePullSecret(), { id, name, displayName: `Registry ${i}`, registryHost: `registry${i}.example.com`, username: `robot$bench-${i}`, password: cipher.seal(id, `Passw0rd-${i}-${random().toString(36).slice(2)}`), ...stamps(i) });
    return Object.assign(secret, textKeys(secret, SEARCHABLE.image_pull_secrets));
  });
  const images = Array.from({ length: shape.images }, (_, i) => {
    const framework = pick(FRAMEWORKS);
    const variant = pick(VARIANTS);
    const version = `${1 + Math.floor(random() * 4)}.${Math.floor(random() * 12)}.${Math.floor(random() * 5)}`;
    const type: ImageType = pick(['CPU', 'GPU', 'UNIVERSAL'] as ImageType[]);
    const name = `${framework}-${variant}-${version.replace(/\./g, '-')}-${String(i).padStart(5, '0')}`;
    const repository = `registry${i % shape.pullSecrets}.example.com/${pick(TEAMS)}/${framework}-${variant}`;
    const description = Array.from({ length: 8 + Math.floor(random() * 20) }, () => pick(WORDS)).join(' ');
    const image = Object.assign(new Image(), {
      id: randomUUID(),
      name,
      displayName: `${framework[0].toUpperCase()}${framework.slice(1)} ${variant} ${version}`,
      description: `${framework} ${variant} ${version}: ${description}.`,
      type,
      url: `${repository}:${version}${type === 'GPU' ? '-cuda12' : ''}`,
      urlForGpu: type === 'UNIVERSAL' ? `${repository}:${version}-cuda12` : null,
      pullSecretId: random() * 100 < shape.pullSecretPercent ? pick(secrets).id : null,
      global: random() * 100 < shape.globalPercent,
      enabled: true,
      version: 1 + Math.floor(random() * 5),
      ...stamps(i),
    });
    return Object.assign(image, textKeys(image, SEARCHABLE.images));
  });
  const links: ImageGroupLink[] = [];
  const linked = new Map<string, Set<string>>();
  const link = (imageId: string, groupId: string) => {
    const set = linked.get(imageId) ?? new Set<string>();
    if (set.has(groupId)) return false;
    linked.set(imageId, set.add(groupId));
    links.push(Object.assign(new ImageGroupLink(), { imageId, groupId }));
    return true;
  };
  for (const image of images) {
    const count = Math.floor(random() * (shape.maxGroupsPerImage + 1));
    for (let k = 0; k < count; k++) link(image.id, pick(groups).id);
  }
  // The launcher group: linked to more non-global images until about `launcherUsable` are usable.
  const launcher = groups[0].id;
  let usable = images.filter((image) => image.global || linked.get(image.id)?.has(launcher)).length;
  for (const image of images) {
    if (usable >= shape.launcherUsable) break;
    if (!image.global && (linked.get(image.id)?.size ?? 0) < shape.maxGroupsPerImage && link(image.id, launcher)) usable++;
  }
  return { groups, secrets, images, links };
}

/** mulberry32: the same dataset shape on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
