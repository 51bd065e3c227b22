import { createGroup, createImage } from './helpers/factories';
import { LAUNCHABLE } from './helpers/operations';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

type Launchable = { name: string; type: string; url: string }[];

async function launchable(groupId: string, gpu: boolean): Promise<Launchable> {
  return (await app.ok<{ launchableImages: Launchable }>(LAUNCHABLE, { groupId, gpu })).launchableImages;
}

describe('launchableImages', () => {
  // One catalog for the whole file: each group sees only what is linked to it plus the global images.
  let team: { id: string };
  let outsider: { id: string };
  const names: Record<string, string> = {};

  beforeAll(async () => {
    team = await createGroup(app);
    outsider = await createGroup(app);
    const make = async (key: string, input: Record<string, unknown>) => {
      names[key] = (await createImage(app, { name: `${key}-${team.id.slice(0, 8)}`, ...input })).name;
    };
    await make('cpu-linked', { type: 'CPU', displayName: 'B cpu', url: 'lab/cpu:1', groupIds: [team.id] });
    await make('gpu-linked', { type: 'GPU', displayName: 'C gpu', url: 'lab/gpu:1', groupIds: [team.id] });
    await make('uni-linked', { type: 'UNIVERSAL', displayName: 'A uni', url: 'lab/uni:1', urlForGpu: 'lab/uni:1-cuda', groupIds: [team.id] });
    await make('uni-plain', { type: 'UNIVERSAL', displayName: 'D same', url: 'lab/plain:1', groupIds: [team.id, outsider.id] });
    await make('global-gpu', { type: 'GPU', displayName: 'D same', url: 'lab/global-gpu:1', global: true });
    await make('other-only', { type: 'CPU', displayName: 'E other', url: 'lab/other:1', groupIds: [outsider.id] });
  });

  // Global images of other test files could show up too; look only at this file's images.
  const mine = (list: Launchable) => list.filter((i) => Object.values(names).includes(i.name));

  it('offers a GPU instance every type the group may use, ordered by displayName then name', async () => {
    const list = mine(await launchable(team.id, true));
    expect(list.map((i) => i.name)).toEqual([names['uni-linked'], names['cpu-linked'], names['gpu-linked'], names['global-gpu'], names['uni-plain']]);
  });

  it('offers an instance without GPU only CPU and UNIVERSAL images', async () => {
    const list = mine(await launchable(team.id, false));
    expect(list.map((i) => i.name)).toEqual([names['uni-linked'], names['cpu-linked'], names['uni-plain']]);
    expect(list.every((i) => i.type !== 'GPU')).toBe(true);
  });

  it('gives each image the url for the instance', async () => {
    const gpu = Object.fromEntries(mine(await launchable(team.id, true)).map((i) => [i.name, i.url]));
    expect(gpu[names['uni-linked']]).toBe('lab/uni:1-cuda');
    expect(gpu[names['uni-plain']]).toBe('lab/plain:1');
    expect(gpu[names['cpu-linked']]).toBe('lab/cpu:1');
    expect(gpu[names['gpu-linked']]).toBe('lab/gpu:1');
    const cpu = Object.fromEntries(mine(await launchable(team.id, false)).map((i) => [i.name, i.url]));
    expect(cpu[names['uni-linked']]).toBe('lab/uni:1');
  });

  it('never offers images linked only to other groups', async () => {
    const list = mine(await launchable(team.id, true));
    expect(list.map((i) => i.name)).not.toContain(names['other-only']);
    const forOutsider = mine(await launchable(outsider.id, true)).map((i) => i.name);
    expect(forOutsider).toEqual([names['global-gpu'], names['uni-plain'], names['other-only']]);
  });

  it('fails with NOT_FOUND for an unknown group', async () => {
    const error = await app.fails(LAUNCHABLE, { groupId: 'ghost', gpu: true });
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'groupId' });
  });
});

describe('Image.urlFor', () => {
  it('is urlForGpu on a GPU instance for a UNIVERSAL image that has one, else url', async () => {
    const withGpu = await createImage(app, { type: 'UNIVERSAL', url: 'x/cpu:1', urlForGpu: 'x/gpu:1' });
    expect([withGpu.cpuUrl, withGpu.gpuUrl]).toEqual(['x/cpu:1', 'x/gpu:1']);
    const without = await createImage(app, { type: 'UNIVERSAL', url: 'x/any:1' });
    expect([without.cpuUrl, without.gpuUrl]).toEqual(['x/any:1', 'x/any:1']);
    for (const type of ['CPU', 'GPU']) {
      const image = await createImage(app, { type, url: `x/${type.toLowerCase()}:1` });
      expect([image.cpuUrl, image.gpuUrl]).toEqual([image.url, image.url]);
    }
  });
});
