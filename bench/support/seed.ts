import type { Service } from './service';

export interface SoakData {
  groups: { id: string; name: string }[];
  imageIds: string[];
  imageNames: string[];
  adminToken: string;
  /** One member token per group, for that group's launcher. */
  memberTokens: string[];
  /** Mutations the seeding made (each writes one audit event). */
  seedMutations: number;
}

const GROUPS = 20;
const SECRETS = 5;
const IMAGES = 200;

/** A small catalog as an admin would build it: groups, pull secrets, images linked to a few groups. */
export async function seedCatalog(service: Service): Promise<SoakData> {
  const run = Date.now().toString(36);
  const groups = await inBatches(GROUPS, (i) =>
    service.admin<{ createGroup: { id: string; name: string } }>('mutation($input: CreateGroupInput!) { createGroup(input: $input) { id name } }', {
      input: { name: `team-${run}-${i}`, description: `Team ${i}` },
    }).then((data) => data.createGroup),
  );
  const secrets = await inBatches(SECRETS, (i) =>
    service.admin<{ createImagePullSecret: { id: string } }>('mutation($input: CreateImagePullSecretInput!) { createImagePullSecret(input: $input) { id } }', {
      input: { name: `registry-${run}-${i}`, registryHost: 'registry.example.com', username: 'robot', password: `Passw0rd-${i}` },
    }).then((data) => data.createImagePullSecret.id),
  );
  const images = await inBatches(IMAGES, (i) =>
    service.admin<{ createImage: { id: string; name: string } }>('mutation($input: CreateImageInput!) { createImage(input: $input) { id name } }', {
      input: {
        name: `notebook-${run}-${i}`,
        description: `Notebook image ${i}`,
        type: ['CPU', 'GPU', 'UNIVERSAL'][i % 3],
        url: `registry.example.com/notebooks/nb-${i}:1.0`,
        ...(i % 3 === 2 ? { urlForGpu: `registry.example.com/notebooks/nb-${i}-cuda:1.0` } : {}),
        global: i % 10 < 3,
        ...(i % 5 < 2 ? { pullSecretId: secrets[i % SECRETS] } : {}),
        groupIds: Array.from({ length: i % 5 }, (_, k) => groups[(i + k * 7) % GROUPS].id),
      },
    }).then((data) => data.createImage),
  );
  return {
    groups,
    imageIds: images.map((image) => image.id),
    imageNames: images.map((image) => image.name),
    adminToken: await service.mint({ sub: 'soak-admin', admin: true }),
    memberTokens: await Promise.all(groups.map((group, i) => service.mint({ sub: `member-${i}`, groups: [group.name] }))),
    seedMutations: GROUPS + SECRETS + IMAGES,
  };
}

async function inBatches<T>(count: number, make: (i: number) => Promise<T>, size = 10): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += size) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, k) => make(start + k)))));
  }
  return results;
}
