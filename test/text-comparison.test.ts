import { createGroup, createImage, uniqueName } from './helpers/factories';
import { startTestApp, TestApp } from './helpers/test-app';

/**
 * One table of text comparisons, run as it is on whichever database the suite runs on (CI runs it
 * on SQLite and on MariaDB): the answers are written down once, so both must give them.
 */

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const IMAGES: Record<string, string> = {
  cjk: '数据科学 Notebook',
  emoji: '🚀 Rocket   Lab',
  umlaut: 'Ünïcödé Tools',
  aerzte: 'Ärzte Portal',
  strasse: 'Straße der Daten',
  istanbul: 'İstanbul GPU',
  dotless: 'ıgdır cluster',
  percent: '100% pure',
  underscore: 'snake_case image',
  bang: 'Wow! image',
  greek: 'ΟΔΟΣ server',
  ligature: 'ﬁle tools',
  fullwidth: 'ＡＢＣ lab',
  // U+1C80, an old form of в: lower case already, but not what "в" is, until upper-cased.
  cyrillic: 'ᲀася',
};

const SEARCHES: [term: string, expected: string[]][] = [
  ['科学', ['cjk']],
  ['🚀', ['emoji']],
  ['rocket lab', ['emoji']],
  ['  ROCKET\tLAB  ', ['emoji']],
  ['unicode', ['umlaut']],
  ['ÜNÏCÖ', ['umlaut']],
  ['arzte', ['aerzte']],
  ['ÄRZ', ['aerzte']],
  ['strasse', ['strasse']],
  ['STRASSE', ['strasse']],
  ['straß', ['strasse']],
  ['ẞ', ['strasse']],
  ['istanbul', ['istanbul']],
  ['İSTANBUL', ['istanbul']],
  ['ıgdır', ['dotless']],
  ['igdir', []],
  ['%', ['percent']],
  ['100%', ['percent']],
  ['%%', []],
  ['_', ['underscore']],
  ['e_c', ['underscore']],
  ['!', ['bang']],
  ['οδοσ', ['greek']],
  ['οδος', ['greek']],
  ['file', ['ligature']],
  ['abc', ['fullwidth']],
  ['ａｂｃ', ['fullwidth']],
  ['ВАСЯ', ['cyrillic']],
  ['a'.repeat(5_000), []],
  ['ü'.repeat(3_000), []],
  ['no such image', []],
];

describe('search and ordering answer the same on both databases', () => {
  const ids: Record<string, string> = {};
  const keyOf = (id: string) => Object.entries(ids).find(([, value]) => value === id)?.[0];
  let groupId: string;

  beforeAll(async () => {
    groupId = (await createGroup(app)).id;
    for (const [key, displayName] of Object.entries(IMAGES)) {
      // Names are DNS labels with no letters the terms look for.
      ids[key] = (await createImage(app, { name: `t${Object.keys(ids).length}-${uniqueName('x').slice(2)}`.replace(/[a-f]/g, '0'), displayName, type: 'CPU', groupIds: [groupId] })).id;
    }
  });

  const label = (term: string) => (term.length > 30 ? `"${term.slice(0, 3)}…" (${term.length} characters)` : JSON.stringify(term));
  it.each(SEARCHES.map(([term, expected]) => [label(term), term, expected] as const))('search %s finds %j', async (_label, term, expected) => {
    const data = await app.ok<{ images: { nodes: { id: string }[] } }>('query ($s: String) { images(first: 100, filter: { search: $s }) { nodes { id } } }', { s: term });
    expect(data.images.nodes.map((n) => keyOf(n.id)).sort()).toEqual([...expected].sort());
  });

  it('searches the description too, and a renamed display name is found by its new text only', async () => {
    const image = await createImage(app, { name: uniqueName('desc'), description: 'Für Ärztinnen und Ärzte' });
    const search = async (term: string) =>
      (await app.ok<{ images: { nodes: { id: string }[] } }>('query ($s: String) { images(first: 100, filter: { search: $s }) { nodes { id } } }', { s: term })).images.nodes.map((n) => n.id);
    expect(await search('fur arztinnen')).toEqual([image.id]);
    await app.ok('mutation ($id: ID!) { updateImage(id: $id, input: { description: "Ñandú" }) { id } }', { id: image.id });
    expect(await search('arztinnen')).toEqual([]);
    expect(await search('NANDU')).toEqual([image.id]);
  });

  it('groups and pull secrets search the same way', async () => {
    const group = await createGroup(app, { name: uniqueName('grp'), displayName: 'Größe Ärzte' });
    const groups = await app.ok<{ groups: { nodes: { id: string }[] } }>('{ groups(filter: { search: "GROSSE ARZ" }) { nodes { id } } }');
    expect(groups.groups.nodes).toEqual([{ id: group.id }]);
    const secret = await app.ok<{ createImagePullSecret: { id: string } }>(
      'mutation { createImagePullSecret(input: { name: "' + uniqueName('sec') + '", displayName: "Café Registry", registryHost: "r.example.com", username: "u", password: "p" }) { id } }',
    );
    const secrets = await app.ok<{ imagePullSecrets: { nodes: { id: string }[] } }>('{ imagePullSecrets(filter: { search: "cafe" }) { nodes { id } } }');
    expect(secrets.imagePullSecrets.nodes).toEqual([{ id: secret.createImagePullSecret.id }]);
  });

  // Folded and compared by code point, so accents and case do not move an image: digits, Latin,
  // dotless ı, Greek, CJK, emoji.
  const DISPLAY_ORDER = ['percent', 'fullwidth', 'aerzte', 'ligature', 'istanbul', 'underscore', 'strasse', 'umlaut', 'bang', 'dotless', 'greek', 'cyrillic', 'cjk', 'emoji'];

  it('orders by display name alike, page by page', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { images: { nodes: { id: string }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } } = await app.ok(
        'query ($g: ID, $after: String) { images(first: 4, after: $after, filter: { groupId: $g }, orderBy: { field: DISPLAY_NAME, direction: ASC }) { nodes { id } pageInfo { endCursor hasNextPage } } }',
        { g: groupId, after },
      );
      seen.push(...page.images.nodes.map((n) => keyOf(n.id) as string));
      if (!page.images.pageInfo.hasNextPage) break;
      after = page.images.pageInfo.endCursor;
    }
    expect(seen).toEqual(DISPLAY_ORDER);
  });

  it('the launcher orders by display name alike, then by name', async () => {
    const twins = [await createImage(app, { name: 'twin-b', displayName: 'Émile', type: 'CPU', groupIds: [groupId] }), await createImage(app, { name: 'twin-a', displayName: 'emile', type: 'CPU', groupIds: [groupId] })];
    const launch = await app.ok<{ launchableImages: { id: string; name: string }[] }>('query ($g: ID!) { launchableImages(groupId: $g, gpu: false) { id name } }', { g: groupId });
    const order = launch.launchableImages.map((i) => keyOf(i.id) ?? i.name);
    expect(order).toEqual(['percent', 'fullwidth', 'aerzte', ...twins.map((t) => t.name).sort(), 'ligature', 'istanbul', 'underscore', 'strasse', 'umlaut', 'bang', 'dotless', 'greek', 'cyrillic', 'cjk', 'emoji']);
  });

  it('orders names that end in what folds away (´ is a space and a mark) or in control characters alike: MariaDB pads with spaces when it compares', async () => {
    const group = await createGroup(app);
    const names: Record<string, string> = { plain: 'zq', acute: 'zq´', control: 'zq\u0001', spaced: 'zq  ', longer: 'zqa' };
    const made: Record<string, string> = {};
    for (const [key, displayName] of Object.entries(names)) made[(await createImage(app, { name: uniqueName('pad'), displayName, groupIds: [group.id] })).id] = key;
    const listed = await app.ok<{ images: { nodes: { id: string }[] } }>(
      'query ($g: ID) { images(first: 10, filter: { groupId: $g }, orderBy: { field: DISPLAY_NAME, direction: ASC }) { nodes { id } } }',
      { g: group.id },
    );
    const order = listed.images.nodes.map((n) => made[n.id]);
    // The four fold to "zq" and tie (by id), before "zqa".
    expect(order[4]).toBe('longer');
    const tied = Object.entries(made).filter(([, key]) => key !== 'longer').map(([id]) => id).sort();
    expect(listed.images.nodes.slice(0, 4).map((n) => n.id)).toEqual(tied);
  });

  it('orders group names with "-", digits and "_" alike (MariaDB\'s collation put "_" first, SQLite after the digits)', async () => {
    const prefix = uniqueName('o').replace(/-/g, '');
    const names = [`${prefix}Ba`, `${prefix}_a`, `${prefix}1a`, `${prefix}-a`];
    for (const name of names) await createGroup(app, { name });
    const listed = await app.ok<{ groups: { nodes: { name: string }[] } }>('query ($s: String) { groups(first: 10, filter: { search: $s }) { nodes { name } } }', { s: prefix });
    expect(listed.groups.nodes.map((g) => g.name)).toEqual([`${prefix}-a`, `${prefix}1a`, `${prefix}_a`, `${prefix}Ba`]);
    const error = await app.fails('mutation ($n: String!) { createGroup(input: { name: $n }) { id } }', { n: `${prefix}_A`.toUpperCase() });
    expect(error.extensions).toMatchObject({ code: 'CONFLICT' });
  });
});
