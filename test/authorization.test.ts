import { createGroup, createImage, createPullSecret, GroupData, ImageData, PullSecretData, uniqueName } from './helpers/factories';
import { DOCKER_CONFIG_JSON } from './helpers/operations';
import { Client, startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
let teamA: GroupData;
let teamB: GroupData;
let secret: PullSecretData;
let imageOfA: ImageData;
let imageOfB: ImageData;
let imageOfAandB: ImageData;
let privateImage: ImageData;
let alice: Client;
let loner: Client;
let anonymous: Client;

beforeAll(async () => {
  app = await startTestApp();
  teamA = await createGroup(app, { name: 'team-a' });
  teamB = await createGroup(app, { name: 'team-b' });
  secret = await createPullSecret(app);
  await createImage(app, { name: 'everyone', type: 'CPU', global: true });
  imageOfA = await createImage(app, { name: 'only-a', type: 'GPU', groupIds: [teamA.id], pullSecretId: secret.id });
  imageOfB = await createImage(app, { name: 'only-b', groupIds: [teamB.id], pullSecretId: secret.id });
  imageOfAandB = await createImage(app, { name: 'a-and-b', groupIds: [teamA.id, teamB.id] });
  privateImage = await createImage(app, { name: 'nobody-s' });
  alice = await app.caller({ sub: 'alice', groups: ['team-a'] });
  loner = await app.caller({ sub: 'loner' });
  anonymous = app.as(null);
});
afterAll(() => app.close());

const names = (list: { name: string }[]) => list.map((i) => i.name);

describe('a member reading images', () => {
  const LIST = 'query List($filter: ImageFilter) { images(filter: $filter) { totalCount nodes { name } } }';
  type List = { images: { totalCount: number; nodes: { name: string }[] } };

  it('sees global images and the images of their groups, and counts only those', async () => {
    const data = await alice.ok<List>(LIST);
    expect(names(data.images.nodes)).toEqual(['a-and-b', 'everyone', 'only-a']);
    expect(data.images.totalCount).toBe(3);
  });

  it('sees only global images when in no group', async () => {
    expect(names((await loner.ok<List>(LIST)).images.nodes)).toEqual(['everyone']);
  });

  it('matches token group names to groups ignoring case', async () => {
    const shouty = await app.caller({ sub: 'shouty', groups: ['TEAM-A'] });
    expect(names((await shouty.ok<List>(LIST)).images.nodes)).toEqual(['a-and-b', 'everyone', 'only-a']);
  });

  it('gets null for a hidden image by id and by name, as for one that does not exist', async () => {
    for (const hidden of [imageOfB, privateImage]) {
      expect(await alice.ok(`{ image(id: "${hidden.id}") { name } }`)).toEqual({ image: null });
      expect(await alice.ok(`{ image(name: "${hidden.name}") { name } }`)).toEqual({ image: null });
    }
    expect(await alice.ok(`{ image(id: "${imageOfA.id}") { name } }`)).toEqual({ image: { name: 'only-a' } });
  });

  it('cannot find hidden images through filters', async () => {
    const bySearch = await alice.ok<List>(LIST, { filter: { search: 'only-b' } });
    expect(bySearch.images).toEqual({ totalCount: 0, nodes: [] });
    const byForeignGroup = await alice.ok<List>(LIST, { filter: { groupId: teamB.id } });
    expect(byForeignGroup.images).toEqual({ totalCount: 0, nodes: [] });
    const byOwnGroup = await alice.ok<List>(LIST, { filter: { groupId: teamA.id } });
    expect(names(byOwnGroup.images.nodes)).toEqual(['a-and-b', 'only-a']);
    const bySecret = await alice.ok<List>(LIST, { filter: { pullSecretId: secret.id } });
    expect(names(bySecret.images.nodes)).toEqual(['only-a']);
  });

  it("sees only their own groups in an image's groups", async () => {
    const data = await alice.ok<{ image: { groups: { name: string }[] } }>(`{ image(id: "${imageOfAandB.id}") { groups { name } } }`);
    expect(names(data.image.groups)).toEqual(['team-a']);
  });

  it('sees the name and displayName of the pull secret of an image it may use, and nothing else of it', async () => {
    const data = await alice.ok<{ image: { pullSecret: unknown } }>(`{ image(id: "${imageOfA.id}") { pullSecret { id name displayName } } }`);
    expect(data.image.pullSecret).toEqual({ id: secret.id, name: secret.name, displayName: secret.displayName });
    for (const field of ['registryHost', 'username', 'images { name }', 'createdAt']) {
      const response = await alice.request<{ image: { pullSecret: unknown } }>(`{ image(id: "${imageOfA.id}") { name pullSecret { name ${field} } } }`);
      expect(response.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(response.data?.image).toEqual({ name: 'only-a', pullSecret: null });
      expect(response.text).not.toContain('registry.example.com');
    }
  });

  it('cannot list or look up pull secrets', async () => {
    for (const query of ['{ imagePullSecrets { nodes { name } } }', `{ imagePullSecret(id: "${secret.id}") { name } }`]) {
      const response = await alice.request(query);
      expect(response.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(response.text).not.toContain(secret.name);
    }
  });

  it('cannot read the audit trail', async () => {
    const response = await alice.request('{ auditEvents { nodes { actor } } }');
    expect(response.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(response.data ?? null).toBeNull();
  });

  it('cannot read who created or changed a record', async () => {
    const response = await alice.request(`{ image(id: "${imageOfA.id}") { createdBy } }`);
    expect(response.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(response.text).not.toContain('test-admin');
    const admin = await app.ok<{ image: { createdBy: string; updatedBy: string } }>(`{ image(id: "${imageOfA.id}") { createdBy updatedBy } }`);
    expect(admin.image).toEqual({ createdBy: 'test-admin', updatedBy: 'test-admin' });
  });
});

describe('a member reading groups', () => {
  it('sees only their own groups', async () => {
    const data = await alice.ok<{ groups: { totalCount: number; nodes: { name: string }[] } }>('{ groups { totalCount nodes { name } } }');
    expect(data.groups).toEqual({ totalCount: 1, nodes: [{ name: 'team-a' }] });
    expect(await loner.ok('{ groups { totalCount nodes { name } } }')).toEqual({ groups: { totalCount: 0, nodes: [] } });
  });

  it('gets null for another group by id or name', async () => {
    expect(await alice.ok(`{ group(id: "${teamB.id}") { name } }`)).toEqual({ group: null });
    expect(await alice.ok('{ group(name: "team-b") { name } }')).toEqual({ group: null });
    expect(await alice.ok('{ group(name: "team-a") { name } }')).toEqual({ group: { name: 'team-a' } });
  });

  it("sees their group's images", async () => {
    const data = await alice.ok<{ group: { images: { name: string }[] } }>(`{ group(id: "${teamA.id}") { images { name } } }`);
    expect(names(data.group.images)).toEqual(['a-and-b', 'only-a']);
  });

  it('cannot walk from an image to a foreign group and on to its images', async () => {
    const data = await alice.ok<{ images: { nodes: { groups: { name: string; images: { name: string }[] }[] }[] } }>(
      '{ images { nodes { groups { name images { name } } } } }',
    );
    const reached = data.images.nodes.flatMap((i) => i.groups.flatMap((g) => [g.name, ...names(g.images)]));
    expect(reached).not.toContain('team-b');
    expect(reached).not.toContain('only-b');
    expect(reached).not.toContain('nobody-s');
  });
});

describe('launchableImages', () => {
  const LAUNCH = 'query($groupId: ID!) { launchableImages(groupId: $groupId, gpu: true) { name } }';

  it("answers a member for their own group", async () => {
    const data = await alice.ok<{ launchableImages: { name: string }[] }>(LAUNCH, { groupId: teamA.id });
    expect(names(data.launchableImages)).toEqual(['a-and-b', 'everyone', 'only-a']);
  });

  it('is FORBIDDEN for a group the member is not in, and for an unknown group, alike', async () => {
    for (const groupId of [teamB.id, '00000000-0000-4000-8000-000000000000']) {
      const error = await alice.fails(LAUNCH, { groupId });
      expect(error.extensions?.code).toBe('FORBIDDEN');
      expect(error.extensions?.field).toBe('groupId');
    }
  });

  it('is NOT_FOUND for an unknown group when an admin asks', async () => {
    const error = await app.fails(LAUNCH, { groupId: '00000000-0000-4000-8000-000000000000' });
    expect(error.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('changes', () => {
  const attempts: [string, () => string][] = [
    ['createImage', () => `mutation { createImage(input: { name: "${uniqueName('x')}", url: "busybox" }) { id } }`],
    ['updateImage', () => `mutation { updateImage(id: "${imageOfA.id}", input: { description: "hacked" }) { id } }`],
    ['deleteImage', () => `mutation { deleteImage(id: "${imageOfA.id}") }`],
    ['setImageGroups', () => `mutation { setImageGroups(imageId: "${imageOfB.id}", groupIds: ["${teamA.id}"]) { id } }`],
    ['createGroup', () => `mutation { createGroup(input: { name: "${uniqueName('g')}" }) { id } }`],
    ['updateGroup', () => `mutation { updateGroup(id: "${teamA.id}", input: { description: "hacked" }) { id } }`],
    ['deleteGroup', () => `mutation { deleteGroup(id: "${teamA.id}") }`],
    ['createImagePullSecret', () => `mutation { createImagePullSecret(input: { name: "${uniqueName('s')}", registryHost: "h", username: "u", password: "p" }) { id } }`],
    ['updateImagePullSecret', () => `mutation { updateImagePullSecret(id: "${secret.id}", input: { username: "hacked" }) { id } }`],
    ['deleteImagePullSecret', () => `mutation { deleteImagePullSecret(id: "${secret.id}", detach: true) }`],
  ];

  async function snapshot() {
    const counts: number[] = [];
    for (const table of ['images', 'user_groups', 'image_pull_secrets', 'image_group_links', 'audit_events']) counts.push(await app.rowCount(table));
    const versions = await app.dataSource.query('SELECT id, version, description FROM images ORDER BY id');
    return { counts, versions };
  }

  it.each(attempts)('%s is FORBIDDEN for a member and writes nothing', async (mutation, query) => {
    const before = await snapshot();
    const response = await alice.request(query());
    expect(response.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const imageManagers = ['createImage', 'updateImage', 'deleteImage'].includes(mutation);
    expect(response.errors?.[0].message).toBe(`Not allowed: ${mutation} is for admins${imageManagers ? ' and group admins' : ''} only`);
    expect(await snapshot()).toEqual(before);
  });

  it.each(attempts)('%s is UNAUTHENTICATED without a token and writes nothing', async (_, query) => {
    const before = await snapshot();
    const response = await anonymous.request(query());
    expect(response.status).toBe(401);
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(await snapshot()).toEqual(before);
  });
});

describe('an anonymous caller', () => {
  it.each([
    '{ images { totalCount } }',
    `{ image(id: "${'x'}") { name } }`,
    '{ groups { totalCount } }',
    '{ imagePullSecrets { totalCount } }',
    '{ __schema { queryType { name } } }',
  ])('gets UNAUTHENTICATED and no data for %s', async (query) => {
    const response = await anonymous.request(query);
    expect(response.status).toBe(401);
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.data ?? null).toBeNull();
  });
});

describe('dockerConfigJson', () => {
  it('returns the .dockerconfigjson document to the secret-reader role', async () => {
    const reader = await app.caller({ sub: 'pull-secret-syncer', secretReader: true });
    const data = await reader.ok<{ dockerConfigJson: string }>(DOCKER_CONFIG_JSON, { id: secret.id });
    expect(JSON.parse(data.dockerConfigJson)).toEqual({
      auths: {
        'registry.example.com:5000': {
          username: 'robot',
          password: 's3cret-Passw0rd',
          auth: Buffer.from('robot:s3cret-Passw0rd').toString('base64'),
        },
      },
    });
  });

  it('is FORBIDDEN to admins without the role and to members', async () => {
    for (const client of [app, alice]) {
      const response = await client.request(DOCKER_CONFIG_JSON, { id: secret.id });
      expect(response.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(response.text).not.toContain('s3cret');
    }
  });

  it('does not let a secret reader change anything', async () => {
    const reader = await app.caller({ sub: 'pull-secret-syncer', secretReader: true });
    const error = await reader.fails(`mutation { deleteImagePullSecret(id: "${secret.id}", detach: true) }`);
    expect(error.extensions?.code).toBe('FORBIDDEN');
  });
});
