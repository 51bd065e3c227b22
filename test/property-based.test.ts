/**
 * Model-based fuzzing of the mutations over HTTP: fast-check generates sequences of creates,
 * updates, group changes and deletes with valid and invalid inputs (names, URLs, unicode, huge
 * strings, nulls, ill-typed variables, unknown ids), runs them against the real service and, after
 * every step, compares the answer and the whole database with an in-memory model.
 *
 *   npm test                          FUZZ_RUNS runs (default below) with a fixed seed
 *   npm run test:fuzz                 3000 runs with a random seed (FUZZ_RUNS, FUZZ_SEED override)
 *   FUZZ_SEED=<seed> FUZZ_PATH=<path> replays a failure reported by fast-check; add
 *   FUZZ_REPLAY=<replayPath> (printed with the counterexample) to replay its commands exactly.
 *   FUZZ_STATS=1                      prints how often each mutation succeeded or failed, by code
 */
import fc from 'fast-check';
import {
  canonical,
  CatalogModel,
  characters,
  checkCoercionErrors,
  checkDatabase,
  checkOutcome,
  clip,
  coerceVariables,
  fail,
  gql,
  GqlType,
  ImageType,
  IMAGE_TYPES,
  isDnsName,
  isGroupName,
  MAX_DESCRIPTION,
  MAX_DISPLAY_NAME,
  MAX_GROUPS_PER_CALL,
  MAX_USERNAME,
  ModelGroup,
  ModelImage,
  ModelSecret,
  Prediction,
  resetDatabase,
  showJson,
  storedText,
} from './helpers/catalog-model';
import { GraphQLEnumType, GraphQLInputObjectType } from 'graphql';
import { buildSchema } from '../src/schema';
import { startTestApp, TestApp } from './helpers/test-app';

// A run is about 17 commands: some 70 ms on SQLite and 140 ms on MariaDB, so the default keeps
// the file near 10 s and 16 s (CI runs it on both).
const DEFAULT_RUNS = 100;
const COMMANDS_PER_RUN = 40;
const FIXED_SEED = 20261124;

const runs = Number(process.env.FUZZ_RUNS || DEFAULT_RUNS);
// `npm test` must be reproducible; a person running the long fuzz wants new cases each time.
const seed =
  process.env.FUZZ_SEED && process.env.FUZZ_SEED !== 'random'
    ? Number(process.env.FUZZ_SEED)
    : process.env.FUZZ_SEED === 'random' || process.env.FUZZ_RUNS
      ? Math.floor(Math.random() * 2 ** 31)
      : FIXED_SEED;


// ---------------------------------------------------------------------------------------------
// Operations. Only what the model can predict is selected.

const IMAGE_FIELDS = 'id name displayName description type url urlForGpu global enabled version gpuUrl: urlFor(gpu: true) pullSecret { id } groups { id }';
const GROUP_FIELDS = 'id name displayName description';
const SECRET_FIELDS = 'id name displayName registryHost username';

const CREATE_IMAGE_INPUT = gql.input(
  {
    name: gql.string(true),
    displayName: gql.string(),
    description: gql.string(),
    type: gql.imageType(),
    url: gql.string(true),
    urlForGpu: gql.string(),
    pullSecretId: gql.id(),
    global: gql.boolean(),
    enabled: gql.boolean(),
    groupIds: gql.list(gql.id(true)),
    pinDigest: gql.boolean(),
    ownerGroupId: gql.id(),
  },
  true,
);
const UPDATE_IMAGE_INPUT = gql.input(
  {
    displayName: gql.string(),
    description: gql.string(),
    type: gql.imageType(),
    url: gql.string(),
    urlForGpu: gql.string(),
    pullSecretId: gql.id(),
    global: gql.boolean(),
    enabled: gql.boolean(),
    expectedVersion: gql.int(),
    pinDigest: gql.boolean(),
  },
  true,
);
const CREATE_GROUP_INPUT = gql.input({ name: gql.string(true), displayName: gql.string(), description: gql.string() }, true);
const UPDATE_GROUP_INPUT = gql.input({ displayName: gql.string(), description: gql.string() }, true);
const CREATE_SECRET_INPUT = gql.input(
  { name: gql.string(true), displayName: gql.string(), registryHost: gql.string(true), username: gql.string(true), password: gql.string(true) },
  true,
);
const UPDATE_SECRET_INPUT = gql.input({ displayName: gql.string(), registryHost: gql.string(), username: gql.string(), password: gql.string() }, true);

// ---------------------------------------------------------------------------------------------
// Values.

const HUGE = 100_000;
const huge = (unit: string) => unit.repeat(Math.ceil(HUGE / unit.length));

/** Validity of URLs and registry hosts the generators made on purpose; random ones are learned. */
const knownUrls = new Map<string, boolean>();
const knownHosts = new Map<string, boolean>();
const tagged = (registry: Map<string, boolean>, valid: boolean) => (value: string) => {
  if (registry.get(value) === !valid) throw new Error(`generator bug: ${clip(value)} made both valid and invalid`);
  registry.set(value, valid);
  return value;
};

/** White space JavaScript's trim() removes (the service trims with it). */
const whitespace = fc.constantFrom('', ' ', '  ', '\t', '\n', '\u00a0', '\u3000', '\ufeff', '\u2028', ' \t\n ');
const padded = (arb: fc.Arbitrary<string>) => fc.tuple(whitespace, arb, whitespace).map(([a, value, b]) => a + value + b);

const oddCharacters = fc.constantFrom(
  'é',
  'e\u0301',
  'ß',
  'İ',
  'ﬁ',
  'Ａ',
  '❤️',
  '😀',
  '👩‍👩‍👧',
  '\u200b',
  '\u202e',
  '\u0000',
  '\u001f',
  '\ud800',
  '\udfff',
  '\ufe0f',
  ' ',
  '%',
  "'",
  '"',
  '\\',
);
const unicodeText = fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), oddCharacters), { maxLength: 4 }).map((parts) => parts.join(''));

/** Strings of about `limit` characters made of one unit (some units are 2 characters, or 2 UTF-16 units). */
const nearLength = (limit: number) =>
  fc
    .record({ unit: fc.constantFrom('a', 'é', '😀', '❤️', 'e\u0301', '\ud800', 'ab ', '\u00a0'), delta: fc.integer({ min: -2, max: 2 }), pad: fc.boolean() })
    .map(({ unit, delta, pad }) => {
      const target = limit + delta;
      let value = unit.repeat(Math.floor(target / characters(unit)));
      value += 'x'.repeat(target - characters(value));
      return pad ? ` ${value} ` : value;
    });

const hugeText = fc.constantFrom(huge('x'), '😀'.repeat(25_000), `${' '.repeat(HUGE / 2)}y${' '.repeat(HUGE / 2)}`, huge('ab cd '));

const textFor = (limit: number) =>
  fc.oneof(
    { weight: 6, arbitrary: unicodeText },
    { weight: 2, arbitrary: whitespace },
    { weight: 3, arbitrary: nearLength(limit) },
    { weight: 1, arbitrary: hugeText },
    { weight: 2, arbitrary: padded(fc.constantFrom('TensorFlow 2.15', 'Data Science', 'x')) },
  );

const dnsLabel = fc.stringMatching(/^[a-z0-9](?:[-a-z0-9]{0,6}[a-z0-9])?$/);
const validDnsName = fc
  .array(dnsLabel, { minLength: 1, maxLength: 3 })
  .map((labels) => labels.join('.'))
  .filter((name) => name.length <= 63);
const dnsName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('tf-2.15', 'base-notebook', 'a', 'x.y', '0') },
  { weight: 4, arbitrary: validDnsName },
  { weight: 2, arbitrary: padded(fc.constantFrom('tf-2.15', 'a')) },
  { weight: 1, arbitrary: fc.constantFrom('a'.repeat(63), 'a'.repeat(64), `${'a.'.repeat(31)}a`, `${'a.'.repeat(31)}ab`) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('', ' ', 'Tf-2.15', 'TF', 'a b', '-a', 'a-', 'a..b', '.a', 'a.', 'a_b', 'café', 'ａ', '😀', 'a\u0000', 'tf-2.15\u200b', 'a/b', huge('a')),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 10 }) },
  { weight: 1, arbitrary: unicodeText },
);

const validGroupName = fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,8}[A-Za-z0-9])?$/);
const groupName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('data-science', 'Data-Science', 'DATA-SCIENCE', 'ml_team', 'ML_Team', 'a', 'A', 'g1') },
  { weight: 3, arbitrary: validGroupName },
  { weight: 2, arbitrary: padded(fc.constantFrom('data-science', 'A')) },
  { weight: 1, arbitrary: fc.constantFrom('G'.repeat(63), 'g'.repeat(64)) },
  { weight: 3, arbitrary: fc.constantFrom('', ' ', '-a', 'a-', '_a', 'a_', 'a b', 'a.b', 'é', 'Straße', '/team/a', 'a\u0000b', huge('g')) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 10 }) },
  { weight: 1, arbitrary: unicodeText },
);

// Container image references, written after Docker's grammar: [registry[:port]/]path[:tag][@digest].
const pathComponent = fc
  .tuple(fc.stringMatching(/^[a-z0-9]{1,6}$/), fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--'), fc.stringMatching(/^[a-z0-9]{1,6}$/)), { maxLength: 2 }))
  .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(''));
const validUrl = fc
  .record({
    registry: fc.constantFrom('', 'registry.example.com/', 'localhost:5000/', 'localhost/', 'harbor.example.com:443/', '10.0.0.1:5000/', '[::1]:5000/'),
    path: fc.array(pathComponent, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/')),
    tag: fc.option(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}$/), fc.constant(`v${'x'.repeat(127)}`)), { nil: '' }),
    digest: fc.option(fc.constantFrom(`sha256:${'a'.repeat(64)}`, `sha512:${'b'.repeat(128)}`, `sha256:${'AbCdEf0123456789'.repeat(4)}`), { nil: '' }),
  })
  .map(({ registry, path, tag, digest }) => `${registry}${path}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`)
  .map(tagged(knownUrls, true));
const LONG_DIGEST_URL = 'busybox@foo:';
const invalidUrl = fc
  .constantFrom(
    '',
    'Busybox:latest',
    'team/Image',
    'busy box',
    'https://registry.example.com/x',
    'busybox:',
    `busybox:${'a'.repeat(129)}`,
    `busybox@sha256:${'a'.repeat(63)}`,
    'localhost:0/x',
    'localhost:65536/x',
    'bücher/app',
    `${'a/'.repeat(130)}b`,
    `${LONG_DIGEST_URL}${'a'.repeat(501)}`,
    '/busybox',
    'busybox/',
    'busybox:latest\u0000',
    '😀',
    huge('x'),
  )
  .map(tagged(knownUrls, false));
const url = fc.oneof(
  { weight: 6, arbitrary: validUrl },
  { weight: 1, arbitrary: fc.constant(`${LONG_DIGEST_URL}${'a'.repeat(500)}`).map(tagged(knownUrls, true)) },
  { weight: 2, arbitrary: padded(validUrl) },
  { weight: 3, arbitrary: invalidUrl },
  { weight: 1, arbitrary: whitespace },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'abcXYZ019./:_-@ '), maxLength: 24 }) },
);

const validHost = fc
  .oneof(
    fc.constantFrom('registry.example.com', 'harbor.example.com:443', 'r.io', 'localhost', '10.0.0.1:5000', '[::1]', '[fe80::1]:5000', 'a-b.c', 'host:1', 'host:65535', 'A.EXAMPLE.COM', 'h'.repeat(255)),
    fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?(?:\.[a-z0-9]{1,6}){0,2}$/),
  )
  .map(tagged(knownHosts, true));
const invalidHost = fc
  .constantFrom('', 'http://r.io', 'a_b.com', 'host:0', 'host:65536', 'a..b', '-a.com', 'a-.com', 'ré.com', 'a b', 'r.io/', 'h'.repeat(256), huge('h'))
  .map(tagged(knownHosts, false));
const registryHost = fc.oneof(
  { weight: 5, arbitrary: validHost },
  { weight: 1, arbitrary: padded(validHost) },
  { weight: 2, arbitrary: invalidHost },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'ab09.:-_[] '), maxLength: 16 }) },
);

const password = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), fc.constantFrom('', ' ', 'p'.repeat(1024), 'p'.repeat(1025)));

// Ill-typed values for each GraphQL type, sent through variables.
const wrongForString = fc.constantFrom<unknown>(42, 1.5, true, {}, { text: 'x' }, ['a']);
const wrongForId = fc.constantFrom<unknown>(1.5, true, {}, ['x']);
const wrongForBoolean = fc.constantFrom<unknown>('true', 1, 0, {}, [true]);
const wrongForInt = fc.constantFrom<unknown>('1', 1.5, 2 ** 31, -(2 ** 31) - 1, true, {});
const wrongForEnum = fc.constantFrom<unknown>('cpu', 'TPU', '', 1, {}, ['CPU'], true);

// ---------------------------------------------------------------------------------------------
// Ids. Generated values cannot know the ids the server will make, so a reference picks one of
// the records that exist when the command runs (or a deleted one, or one of another kind).

type Kind = 'image' | 'group' | 'secret';
/** `or-none`: an existing record, or nothing (left out of the input) while there is none. */
type IdVariant = 'same' | 'or-none' | 'upper' | 'leading-space' | 'trailing-space' | 'non-ascii';
type IdRef = { to: Kind | 'gone'; pick: number; variant: IdVariant } | { to: 'literal'; value: unknown };

const ABSENT_ID = 'ffffffff-ffff-4fff-bfff-ffffffffffff';
// Trailing spaces and non-ASCII text once found the record, or failed the query, on MariaDB.
const variants: IdVariant[] = ['upper', 'leading-space', 'trailing-space', 'non-ascii'];
const literalIds: unknown[] = ['', ' ', ABSENT_ID, 'not-an-id', 12345, 0, -7, huge('i'), 'ß', '😀', 'ｉｄ'];

function resolveId(model: CatalogModel, ref: unknown): unknown {
  if (!isIdRef(ref)) return ref;
  if (ref.to === 'literal') return ref.value;
  const ids = ref.to === 'gone' ? model.goneIds : [...(ref.to === 'image' ? model.images : ref.to === 'group' ? model.groups : model.secrets).keys()];
  if (ids.length === 0 && ref.variant === 'or-none') return undefined;
  const id = ids.length === 0 ? ABSENT_ID : ids[ref.pick % ids.length];
  switch (ref.variant) {
    case 'same':
    case 'or-none':
      return id;
    case 'upper':
      return id.toUpperCase();
    case 'leading-space':
      return ` ${id}`;
    case 'trailing-space':
      return `${id} `;
    case 'non-ascii':
      return id.replace('-', '\u2010');
  }
}

function isIdRef(value: unknown): value is IdRef {
  return typeof value === 'object' && value !== null && 'to' in value && ('pick' in value || 'value' in value) && Object.keys(value).length <= 3;
}

const showRef = (ref: IdRef): string =>
  ref.to === 'literal'
    ? `literal(${clip(showJson(ref.value), 40)})`
    : `${ref.to}#${ref.pick}${ref.variant === 'same' || ref.variant === 'or-none' ? '' : `(${ref.variant})`}`;

/** Generated arguments for messages: refs by what they pick, long strings shortened. */
function show(value: unknown): string {
  return showJson(value, (_key, v: unknown) => {
    if (isIdRef(v)) return showRef(v);
    if (Array.isArray(v) && v.length > 10) return [...v.slice(0, 3), `…(${v.length} items)`];
    if (typeof v === 'string') return clip(v, 60);
    if (v === undefined) return '<missing>';
    return v;
  });
}

// ---------------------------------------------------------------------------------------------
// The rules each mutation applies after GraphQL accepted the variables, in the service's order:
// field validation (every invalid field at once), then lookups, then conflicts.

type Validity = 'valid' | 'invalid' | 'unknown';
const check = (ok: boolean): Validity => (ok ? 'valid' : 'invalid');

const displayNameValidity = (value: string) => check(characters(storedText(value)) <= MAX_DISPLAY_NAME);
const descriptionValidity = (value: string) => check(characters(storedText(value)) <= MAX_DESCRIPTION);
const urlValidity = (value: string): Validity => {
  const known = knownUrls.get(value.trim());
  if (value.trim() === '') return 'invalid';
  return known === undefined ? 'unknown' : check(known);
};
const hostValidity = (value: string): Validity => {
  const known = knownHosts.get(value.trim());
  if (value.trim() === '') return 'invalid';
  return known === undefined ? 'unknown' : check(known);
};
const usernameValidity = (value: string) => check(characters(storedText(value)) >= 1 && characters(storedText(value)) <= MAX_USERNAME);
const passwordValidity = (value: string) => check(characters(value) >= 1 && characters(value) <= 1024);

/** Collects per-field verdicts into the fields the BAD_USER_INPUT must name and the ones to learn. */
class Verdicts {
  invalid: string[] = [];
  unknown: string[] = [];
  add(field: string, validity: Validity): void {
    if (validity === 'invalid') this.invalid.push(field);
    if (validity === 'unknown') this.unknown.push(field);
  }
  /** A field given as null that may be left out but not cleared. */
  notNull(input: Record<string, unknown>, field: string): void {
    if (input[field] === null) this.invalid.push(field);
  }
}

const has = (input: Record<string, unknown>, field: string) => field in input;
const text = (input: Record<string, unknown>, field: string) => input[field] as string;

interface Expectation {
  prediction: Prediction;
  /** Fields whose validity the model does not know, and the ones it knows are invalid. */
  learnable?: string[];
  invalid?: string[];
}

const badInput = (verdicts: Verdicts): Expectation | undefined =>
  verdicts.invalid.length > 0
    ? { prediction: { kind: 'BAD_USER_INPUT', fields: verdicts.invalid }, learnable: verdicts.unknown, invalid: verdicts.invalid }
    : undefined;

function checkSame(what: string, got: unknown, want: unknown): void {
  if (canonical(got) !== canonical(want)) fail(`${what}: the answer differs from the model`, { got, want });
}

function imageAnswer(data: Record<string, unknown>, image: ModelImage): void {
  const groups = (data.groups as { id: string }[]).map((g) => g.id).sort();
  const pullSecret = data.pullSecret as { id: string } | null;
  const { groupIds, ...fields } = image;
  checkSame(
    `image ${image.name}`,
    { ...data, groups, pullSecret: pullSecret?.id ?? null },
    {
      id: fields.id,
      name: fields.name,
      displayName: fields.displayName,
      description: fields.description,
      type: fields.type,
      url: fields.url,
      urlForGpu: fields.urlForGpu,
      global: fields.global,
      enabled: fields.enabled,
      version: fields.version,
      gpuUrl: fields.type === 'UNIVERSAL' && fields.urlForGpu ? fields.urlForGpu : fields.url,
      pullSecret: fields.pullSecretId,
      groups: [...groupIds].sort(),
    },
  );
}

function newId(model: CatalogModel, data: Record<string, unknown>): string {
  const id = data.id;
  if (typeof id !== 'string' || model.images.has(id) || model.groups.has(id) || model.secrets.has(id) || model.goneIds.includes(id)) {
    fail('a create returned an id that is not new', data);
  }
  return id;
}

/** The image after `patch` (create or update): the type/urlForGpu rule, blank display names. */
function patchImage(current: ModelImage, input: Record<string, unknown>): ModelImage | 'urlForGpu' {
  const next: ModelImage = { ...current, groupIds: new Set(current.groupIds) };
  if (input.type != null) next.type = input.type as ImageType;
  if (has(input, 'displayName')) next.displayName = input.displayName === null ? current.name : storedText(text(input, 'displayName')) || current.name;
  if (has(input, 'description')) next.description = input.description === null ? null : storedText(text(input, 'description')) || null;
  if (has(input, 'url')) next.url = storedText(text(input, 'url'));
  if (has(input, 'pullSecretId')) next.pullSecretId = input.pullSecretId as string | null;
  if (input.global != null) next.global = input.global as boolean;
  if (input.enabled != null) next.enabled = input.enabled as boolean;
  // Left out: unchanged; null or blank: none.
  let urlForGpu: string | null | undefined;
  if (has(input, 'urlForGpu')) urlForGpu = input.urlForGpu === null ? null : storedText(text(input, 'urlForGpu')) || null;
  if (urlForGpu != null && next.type !== 'UNIVERSAL') return 'urlForGpu';
  if (urlForGpu !== undefined) next.urlForGpu = urlForGpu;
  if (next.type !== 'UNIVERSAL') next.urlForGpu = null;
  return next;
}

const IMAGE_COMPARED = ['displayName', 'description', 'type', 'url', 'urlForGpu', 'pullSecretId', 'global', 'enabled'] as const;

function validateImageFields(verdicts: Verdicts, input: Record<string, unknown>): void {
  if (typeof input.displayName === 'string') verdicts.add('displayName', displayNameValidity(input.displayName));
  if (typeof input.description === 'string') verdicts.add('description', descriptionValidity(input.description));
  if (typeof input.url === 'string') verdicts.add('url', urlValidity(input.url));
  if (typeof input.urlForGpu === 'string' && storedText(input.urlForGpu) !== '') verdicts.add('urlForGpu', urlValidity(input.urlForGpu));
}

const unique = (ids: string[]) => [...new Set(ids)];

function predictCreateImage(model: CatalogModel, input: Record<string, unknown>): Expectation {
  const verdicts = new Verdicts();
  verdicts.add('name', check(isDnsName(text(input, 'name').trim())));
  validateImageFields(verdicts, input);
  const groupIds = (input.groupIds as string[] | null | undefined) ?? [];
  if (groupIds.length > MAX_GROUPS_PER_CALL) verdicts.add('groupIds', 'invalid');
  const bad = badInput(verdicts);
  if (bad) return bad;
  const learnable = verdicts.unknown;

  const name = text(input, 'name').trim();
  const blank: ModelImage = {
    id: '',
    name,
    displayName: name,
    description: null,
    type: 'UNIVERSAL',
    url: storedText(text(input, 'url')),
    urlForGpu: null,
    pullSecretId: null,
    global: false,
    enabled: true,
    version: 1,
    groupIds: new Set(unique(groupIds)),
  };
  const image = patchImage(blank, input);
  if (image === 'urlForGpu') return { prediction: { kind: 'BAD_USER_INPUT', fields: ['urlForGpu'] }, learnable };
  if (image.pullSecretId !== null && !model.secrets.has(image.pullSecretId)) {
    return { prediction: { kind: 'NOT_FOUND', field: 'pullSecretId', ids: [image.pullSecretId] }, learnable };
  }
  const missing = unique(groupIds).filter((id) => !model.groups.has(id));
  if (missing.length > 0) return { prediction: { kind: 'NOT_FOUND', field: 'groupIds', ids: missing }, learnable };
  if (model.nameTaken('image', name)) return { prediction: { kind: 'CONFLICT', field: 'name' }, learnable };
  return {
    learnable,
    prediction: {
      kind: 'ok',
      apply: (data) => {
        image.id = newId(model, data);
        imageAnswer(data, image);
        model.images.set(image.id, image);
        model.auditEvents += 1;
      },
    },
  };
}

function predictUpdateImage(model: CatalogModel, id: string, input: Record<string, unknown>): Expectation {
  const verdicts = new Verdicts();
  for (const field of ['displayName', 'type', 'url', 'global', 'enabled']) verdicts.notNull(input, field);
  validateImageFields(verdicts, input);
  const expected = input.expectedVersion;
  if (typeof expected === 'number' && expected < 1) verdicts.add('expectedVersion', 'invalid');
  const bad = badInput(verdicts);
  if (bad) return bad;
  const learnable = verdicts.unknown;

  const current = model.images.get(id);
  if (!current) return { prediction: { kind: 'NOT_FOUND', field: 'id', ids: [id] }, learnable };
  if (typeof expected === 'number' && expected !== current.version) return { prediction: { kind: 'CONFLICT', field: 'expectedVersion' }, learnable };
  const next = patchImage(current, input);
  if (next === 'urlForGpu') return { prediction: { kind: 'BAD_USER_INPUT', fields: ['urlForGpu'] }, learnable };
  const changed = IMAGE_COMPARED.some((field) => next[field] !== current[field]);
  if (changed && next.pullSecretId !== current.pullSecretId && next.pullSecretId !== null && !model.secrets.has(next.pullSecretId)) {
    return { prediction: { kind: 'NOT_FOUND', field: 'pullSecretId', ids: [next.pullSecretId] }, learnable };
  }
  if (changed) next.version += 1;
  return {
    learnable,
    prediction: {
      kind: 'ok',
      apply: (data) => {
        imageAnswer(data, next);
        model.images.set(id, next);
        if (changed) model.auditEvents += 1;
      },
    },
  };
}

function predictSetImageGroups(model: CatalogModel, imageId: string, groupIds: string[]): Expectation {
  if (groupIds.length > MAX_GROUPS_PER_CALL) return { prediction: { kind: 'BAD_USER_INPUT', fields: ['groupIds'] } };
  const current = model.images.get(imageId);
  if (!current) return { prediction: { kind: 'NOT_FOUND', field: 'imageId', ids: [imageId] } };
  const wanted = unique(groupIds);
  const missing = wanted.filter((id) => !model.groups.has(id));
  if (missing.length > 0) return { prediction: { kind: 'NOT_FOUND', field: 'groupIds', ids: missing } };
  const same = wanted.length === current.groupIds.size && wanted.every((id) => current.groupIds.has(id));
  const next: ModelImage = { ...current, groupIds: new Set(wanted), version: current.version + (same ? 0 : 1) };
  return {
    prediction: {
      kind: 'ok',
      apply: (data) => {
        imageAnswer(data, next);
        model.images.set(imageId, next);
        if (!same) model.auditEvents += 1;
      },
    },
  };
}

function predictDelete(model: CatalogModel, kind: Kind, id: string, detach = false): Expectation {
  const records = kind === 'image' ? model.images : kind === 'group' ? model.groups : model.secrets;
  if (!records.has(id)) return { prediction: { kind: 'NOT_FOUND', field: 'id', ids: [id] } };
  const users = kind === 'secret' ? [...model.images.values()].filter((i) => i.pullSecretId === id) : [];
  if (users.length > 0 && !detach) return { prediction: { kind: 'CONFLICT', field: 'id' } };
  return {
    prediction: {
      kind: 'ok',
      apply: (data) => {
        if (data !== (id as unknown)) fail(`delete returned ${String(data)}, not the id`);
        records.delete(id);
        model.goneIds.push(id);
        model.auditEvents += 1;
        // Losing a group or the pull secret is a change to the image: its version goes up.
        for (const image of model.images.values()) {
          if (kind === 'group' && image.groupIds.delete(id)) {
            image.version += 1;
            model.auditEvents += 1;
          }
          if (kind === 'secret' && image.pullSecretId === id) {
            image.pullSecretId = null;
            image.version += 1;
            model.auditEvents += 1;
          }
        }
      },
    },
  };
}

function predictCreateGroup(model: CatalogModel, input: Record<string, unknown>): Expectation {
  const verdicts = new Verdicts();
  verdicts.add('name', check(isGroupName(text(input, 'name').trim())));
  if (typeof input.displayName === 'string') verdicts.add('displayName', displayNameValidity(input.displayName));
  if (typeof input.description === 'string') verdicts.add('description', descriptionValidity(input.description));
  const bad = badInput(verdicts);
  if (bad) return bad;
  const name = text(input, 'name').trim();
  if (model.nameTaken('group', name)) return { prediction: { kind: 'CONFLICT', field: 'name' } };
  const group: ModelGroup = {
    id: '',
    name,
    displayName: (typeof input.displayName === 'string' && storedText(input.displayName)) || name,
    description: (typeof input.description === 'string' && storedText(input.description)) || null,
  };
  return {
    prediction: {
      kind: 'ok',
      apply: (data) => {
        group.id = newId(model, data);
        checkSame(`group ${name}`, data, group);
        model.groups.set(group.id, group);
        model.auditEvents += 1;
      },
    },
  };
}

function predictUpdateGroup(model: CatalogModel, id: string, input: Record<string, unknown>): Expectation {
  const verdicts = new Verdicts();
  verdicts.notNull(input, 'displayName');
  if (typeof input.displayName === 'string') verdicts.add('displayName', displayNameValidity(input.displayName));
  if (typeof input.description === 'string') verdicts.add('description', descriptionValidity(input.description));
  const bad = badInput(verdicts);
  if (bad) return bad;
  const current = model.groups.get(id);
  if (!current) return { prediction: { kind: 'NOT_FOUND', field: 'id', ids: [id] } };
  const next = { ...current };
  if (typeof input.displayName === 'string') next.displayName = storedText(input.displayName) || current.name;
  if (has(input, 'description')) next.description = typeof input.description === 'string' ? storedText(input.description) || null : null;
  const changed = next.displayName !== current.displayName || next.description !== current.description;
  return {
    prediction: {
      kind: 'ok',
      apply: (data) => {
        checkSame(`group ${current.name}`, data, next);
        model.groups.set(id, next);
        if (changed) model.auditEvents += 1;
      },
    },
  };
}

function predictCreateSecret(model: CatalogModel, input: Record<string, unknown>): Expectation {
  const verdicts = new Verdicts();
  verdicts.add('name', check(isDnsName(text(input, 'name').trim())));
  if (typeof input.displayName === 'string') verdicts.add('displayName', displayNameValidity(input.displayName));
  verdicts.add('registryHost', hostValidity(text(input, 'registryHost')));
  verdicts.add('username', usernameValidity(text(input, 'username')));
  verdicts.add('password', passwordValidity(text(input, 'password')));
  const bad = badInput(verdicts);
  if (bad) return bad;
  const learnable = verdicts.unknown;
  const name = text(input, 'name').trim();
  if (model.nameTaken('secret', name)) return { prediction: { kind: 'CONFLICT', field: 'name' }, learnable };
  const secret: ModelSecret = {
    id: '',
    name,
    displayName: (typeof input.displayName === 'string' && storedText(input.displayName)) || name,
    registryHost: storedText(text(input, 'registryHost')),
    username: storedText(text(input, 'username')),
  };
  return {
    learnable,
    prediction: {
      kind: 'ok',
      apply: (data) => {
        secret.id = newId(model, data);
        checkSame(`pull secret ${name}`, data, secret);
        model.secrets.set(secret.id, secret);
        model.auditEvents += 1;
      },
    },
  };
}

function predictUpdateSecret(model: CatalogModel, id: string, input: Record<string, unknown>): Expectation {
  const verdicts = new Verdicts();
  for (const field of ['displayName', 'registryHost', 'username', 'password']) verdicts.notNull(input, field);
  if (typeof input.displayName === 'string') verdicts.add('displayName', displayNameValidity(input.displayName));
  if (typeof input.registryHost === 'string') verdicts.add('registryHost', hostValidity(input.registryHost));
  if (typeof input.username === 'string') verdicts.add('username', usernameValidity(input.username));
  if (typeof input.password === 'string') verdicts.add('password', passwordValidity(input.password));
  const bad = badInput(verdicts);
  if (bad) return bad;
  const learnable = verdicts.unknown;
  const current = model.secrets.get(id);
  if (!current) return { prediction: { kind: 'NOT_FOUND', field: 'id', ids: [id] }, learnable };
  const next = { ...current };
  if (typeof input.displayName === 'string') next.displayName = storedText(input.displayName) || current.name;
  if (typeof input.registryHost === 'string') next.registryHost = storedText(input.registryHost);
  if (typeof input.username === 'string') next.username = storedText(input.username);
  // A new password is a change even when it is the same: the service cannot tell, it never reads it back.
  const changed = JSON.stringify(next) !== JSON.stringify(current) || typeof input.password === 'string';
  return {
    learnable,
    prediction: {
      kind: 'ok',
      apply: (data) => {
        checkSame(`pull secret ${current.name}`, data, next);
        model.secrets.set(id, next);
        if (changed) model.auditEvents += 1;
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Commands.

interface Real {
  app: TestApp;
}

const outcomes = new Map<string, number>();
const errorFieldsOf = (response: { errors?: { extensions?: { fields?: { field: string }[] } }[] }) =>
  (response.errors?.[0]?.extensions?.fields ?? []).map((f) => f.field).join(',');
function count(mutation: string, outcome: string): void {
  const key = `${mutation} ${outcome}`;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

/**
 * One mutation: resolves its id references against the model, sends it, checks the answer against
 * the model's prediction, then checks the whole database and the server log.
 */
class Mutation implements fc.AsyncCommand<CatalogModel, Real> {
  constructor(
    private readonly mutation: string,
    private readonly definitions: Record<string, GqlType>,
    private readonly selection: string,
    /** Variables as generated: id references are resolved when the command runs. */
    private readonly args: Record<string, unknown>,
    private readonly predict: (model: CatalogModel, values: Record<string, unknown>) => Expectation,
  ) {}

  private style = '';

  /** Which palette drew it, for the statistics. */
  drawn(style: string): this {
    this.style = style;
    return this;
  }

  bodyBytes(): number {
    return Buffer.byteLength(JSON.stringify(this.args));
  }

  /** A clean command acts on a record that exists: it waits (is skipped) until there is one. */
  check(model: Readonly<CatalogModel>): boolean {
    const target = this.args.id ?? this.args.imageId;
    if (this.style !== 'clean' || !isIdRef(target) || target.to === 'literal' || target.to === 'gone') return true;
    return (target.to === 'image' ? model.images : target.to === 'group' ? model.groups : model.secrets).size > 0;
  }

  async run(model: CatalogModel, real: Real): Promise<void> {
    const resolved = resolveRefs(model, this.args) as Record<string, unknown>;
    // What the server receives: JSON drops the fields left out (undefined).
    const variables = JSON.parse(JSON.stringify(resolved)) as Record<string, unknown>;
    const signature = Object.entries(this.definitions)
      .map(([name, type]) => `$${name}: ${typeName(type)}`)
      .join(', ');
    const args = Object.keys(this.definitions)
      .map((name) => `${name}: $${name}`)
      .join(', ');
    const query = `mutation Fuzz(${signature}) { ${this.mutation}(${args})${this.selection ? ` { ${this.selection} }` : ''} }`;
    const response = await real.app.request(query, variables);
    try {
      const coerced = coerceVariables(this.definitions, variables);
      if (coerced.errors.length > 0) {
        checkCoercionErrors(response, coerced.errors);
        count(`${this.mutation} ${this.style}`, 'ill-typed variables');
      } else {
        const { prediction, learnable, invalid } = this.predict(model, coerced.values);
        checkOutcome(response, this.mutation, prediction, learnable, invalid);
        const code = response.errors?.[0]?.extensions?.code ?? 'ok';
        count(`${this.mutation} ${this.style}`, code === 'BAD_USER_INPUT' ? `${code} ${errorFieldsOf(response)}` : code);
      }
      await checkDatabase(real.app, model);
      if (real.app.serverErrors.length > 0) fail('the server logged errors', real.app.serverErrors);
    } catch (error) {
      if (error instanceof Error) {
        const logged = real.app.serverErrors.map((e) => clip(e, 1500)).join('\n');
        error.message = `${error.message}\n  while running ${this.mutation} with ${clip(showJson(variables), 1500)}\n  answer: ${clip(response.text, 1500)}${logged ? `\n  server log: ${logged}` : ''}`;
      }
      throw error;
    }
  }

  toString(): string {
    return `${this.mutation}(${show(this.args)})`;
  }
}

function resolveRefs(model: CatalogModel, value: unknown): unknown {
  if (value instanceof VersionRef) return (model.images.get(resolveId(model, value.image) as string)?.version ?? 1) + value.delta;
  if (isIdRef(value)) return resolveId(model, value);
  if (Array.isArray(value)) return value.map((item) => resolveRefs(model, item)).filter((item) => item !== undefined);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveRefs(model, item)]));
  }
  return value;
}

function typeName(type: GqlType): string {
  const base =
    type.kind === 'list'
      ? `[${typeName(type.of)}]`
      : type.kind === 'enum'
        ? 'ImageType'
        : type.kind === 'input'
          ? inputTypeName(type)
          : type.kind;
  return type.nonNull ? `${base}!` : base;
}

function inputTypeName(type: GqlType): string {
  const names = new Map<GqlType, string>([
    [CREATE_IMAGE_INPUT, 'CreateImageInput'],
    [UPDATE_IMAGE_INPUT, 'UpdateImageInput'],
    [CREATE_GROUP_INPUT, 'CreateGroupInput'],
    [UPDATE_GROUP_INPUT, 'UpdateGroupInput'],
    [CREATE_SECRET_INPUT, 'CreateImagePullSecretInput'],
    [UPDATE_SECRET_INPUT, 'UpdateImagePullSecretInput'],
  ]);
  const name = names.get(type);
  if (!name) throw new Error('unnamed input type');
  return name;
}

/**
 * How a command's arguments are drawn. With every field free to be wrong, almost every call
 * fails validation and the catalog stays empty, so half the commands are drawn "clean" (values
 * meant to be accepted, ids of records that exist: the catalog fills up and updates, links and
 * deletes have something to act on), the other half "hostile".
 */
interface Palette {
  /** An optional input field (left out, null, a value, or a value of the wrong type). */
  optional(value: fc.Arbitrary<unknown>, wrong: fc.Arbitrary<unknown>): fc.Arbitrary<unknown>;
  /** An update's field that may be left out but not cleared. */
  change(value: fc.Arbitrary<unknown>, wrong: fc.Arbitrary<unknown>): fc.Arbitrary<unknown>;
  required(value: fc.Arbitrary<unknown>, wrong: fc.Arbitrary<unknown>): fc.Arbitrary<unknown>;
  /** The whole `input` variable. */
  input(object: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown>;
  /** A field the input type does not have. */
  unknownField: fc.Arbitrary<unknown>;
  imageName: fc.Arbitrary<string>;
  groupName: fc.Arbitrary<string>;
  secretName: fc.Arbitrary<string>;
  text(limit: number): fc.Arbitrary<string>;
  url: fc.Arbitrary<string>;
  registryHost: fc.Arbitrary<string>;
  username: fc.Arbitrary<string>;
  password: fc.Arbitrary<string>;
  /** An id inside an input (pullSecretId, groupIds). */
  ref(kind: Kind): fc.Arbitrary<IdRef>;
  /** The `ID!` argument naming the record a mutation acts on. */
  target(kind: Kind): fc.Arbitrary<IdRef>;
  groupIds: fc.Arbitrary<unknown>;
  expectedVersion: fc.Arbitrary<unknown>;
  detach: fc.Arbitrary<unknown>;
}

const existing = (kind: Kind | 'gone', variant: IdVariant): fc.Arbitrary<IdRef> =>
  fc.record({ to: fc.constant(kind), pick: fc.nat(), variant: fc.constant(variant) });
const versionDelta = (delta: fc.Arbitrary<number>) => delta.map((d) => ({ versionDelta: d }));

// Clean creates of CPU and GPU images leave urlForGpu out: giving one is refused (hostile commands do).
const clean: Palette = {
  optional: (value) => fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 6, arbitrary: value }),
  change: (value) => fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value }),
  required: (value) => value,
  input: (object) => object,
  unknownField: fc.constant(undefined),
  imageName: fc.oneof({ weight: 1, arbitrary: fc.constantFrom('tf-2.15', 'base-notebook', 'a') }, { weight: 4, arbitrary: validDnsName }, { weight: 1, arbitrary: padded(validDnsName) }),
  groupName: fc.oneof({ weight: 1, arbitrary: fc.constantFrom('data-science', 'Data-Science', 'ml_team') }, { weight: 4, arbitrary: validGroupName }, { weight: 1, arbitrary: padded(validGroupName) }),
  secretName: fc.oneof({ weight: 1, arbitrary: fc.constantFrom('harbor-robot', 'a') }, { weight: 4, arbitrary: validDnsName }),
  text: (limit) =>
    fc.oneof(
      { weight: 6, arbitrary: unicodeText },
      { weight: 2, arbitrary: whitespace },
      { weight: 1, arbitrary: nearLength(limit) },
      { weight: 2, arbitrary: padded(fc.constantFrom('TensorFlow 2.15', 'Data Science', 'x')) },
    ),
  url: fc.oneof({ weight: 4, arbitrary: validUrl }, { weight: 1, arbitrary: padded(validUrl) }),
  registryHost: fc.oneof({ weight: 4, arbitrary: validHost }, { weight: 1, arbitrary: padded(validHost) }),
  username: fc.oneof(fc.constantFrom('robot$ml', ' robot '), unicodeText.filter((u) => storedText(u) !== '')),
  password: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
  ref: (kind) => fc.oneof({ weight: 12, arbitrary: existing(kind, 'or-none') }, { weight: 1, arbitrary: existing('gone', 'same') }),
  target: (kind) => fc.oneof({ weight: 12, arbitrary: existing(kind, 'same') }, { weight: 1, arbitrary: existing('gone', 'same') }),
  groupIds: fc.array(fc.oneof({ weight: 12, arbitrary: existing('group', 'or-none') }, { weight: 1, arbitrary: existing('gone', 'same') }), { maxLength: 3 }),
  expectedVersion: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: versionDelta(fc.constant(0)) },
    { weight: 1, arbitrary: versionDelta(fc.constantFrom(-1, 1)) },
  ),
  detach: fc.oneof(fc.constant(undefined), fc.boolean()),
};

const hostileRef = (kind: Kind): fc.Arbitrary<IdRef> =>
  fc.oneof(
    { weight: 8, arbitrary: existing(kind, 'same') },
    { weight: 2, arbitrary: fc.record({ to: fc.constant(kind), pick: fc.nat(), variant: fc.constantFrom(...variants) }) },
    { weight: 2, arbitrary: existing('gone', 'same') },
    { weight: 2, arbitrary: fc.record({ to: fc.constantFrom<Kind>('image', 'group', 'secret'), pick: fc.nat(), variant: fc.constant<IdVariant>('same') }) },
    { weight: 2, arbitrary: fc.record({ to: fc.constant<'literal'>('literal'), value: fc.constantFrom(...literalIds) }) },
    { weight: 1, arbitrary: fc.record({ to: fc.constant<'literal'>('literal'), value: fc.oneof(fc.uuid(), unicodeText) }) },
  );

const hostile: Palette = {
  optional: (value, wrong) =>
    fc.oneof(
      { weight: 30, arbitrary: fc.constant(undefined) },
      { weight: 10, arbitrary: fc.constant(null) },
      { weight: 60, arbitrary: value },
      { weight: 2, arbitrary: wrong },
    ),
  change: (value, wrong) => hostile.optional(value, wrong),
  required: (value, wrong) =>
    fc.oneof({ weight: 96, arbitrary: value }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: wrong }),
  input: (object) => fc.oneof({ weight: 60, arbitrary: object }, { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, 'input', 42, []) }),
  unknownField: fc.oneof({ weight: 60, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant('x') }),
  imageName: dnsName,
  groupName,
  secretName: fc.oneof(dnsName, fc.constantFrom('harbor-robot', 'Harbor')),
  text: textFor,
  url,
  registryHost,
  username: fc.oneof(textFor(MAX_USERNAME), fc.constantFrom('robot$ml', ' robot ')),
  password,
  ref: hostileRef,
  target: (kind) => fc.oneof({ weight: 40, arbitrary: hostileRef(kind) }, { weight: 1, arbitrary: fc.record({ to: fc.constant<'literal'>('literal'), value: fc.oneof(wrongForId, fc.constant(null)) }) }),
  groupIds: fc.oneof(
    { weight: 20, arbitrary: fc.array(hostileRef('group'), { maxLength: 4 }) },
    // A single id where a list is expected is a list of one, as GraphQL coerces it.
    { weight: 2, arbitrary: hostileRef('group') },
    { weight: 1, arbitrary: fc.array(fc.oneof(hostileRef('group'), fc.constant(null)), { minLength: 1, maxLength: 3 }) },
    // Short ids only: a thousand 100 KB ids would be refused as a whole (1 MiB body limit).
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.oneof(existing('group', 'same'), existing('gone', 'same')), fc.constantFrom(MAX_GROUPS_PER_CALL, MAX_GROUPS_PER_CALL + 1))
        .map(([ref, n]) => Array<IdRef>(n).fill(ref)),
    },
  ),
  expectedVersion: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 4, arbitrary: versionDelta(fc.integer({ min: -1, max: 1 })) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -1, 2 ** 31 - 1) },
    { weight: 1, arbitrary: wrongForInt },
  ),
  detach: fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), wrongForBoolean),
};

const input = (values: Record<string, unknown>) => values.input as Record<string, unknown>;
const idOf = (values: Record<string, unknown>, name = 'id') => values[name] as string;

const createImage = (p: Palette) =>
  fc
    .record({
      input: p.input(
        fc
          .record({
            name: p.required(p.imageName, wrongForString),
            displayName: p.optional(p.text(MAX_DISPLAY_NAME), wrongForString),
            description: p.optional(p.text(MAX_DESCRIPTION), wrongForString),
            type: p.optional(fc.constantFrom(...IMAGE_TYPES), wrongForEnum),
            url: p.required(p.url, wrongForString),
            urlForGpu: p.optional(p.url, wrongForString),
            pullSecretId: p.optional(p.ref('secret'), wrongForId),
            global: p.optional(fc.boolean(), wrongForBoolean),
            enabled: p.optional(fc.boolean(), wrongForBoolean),
            groupIds: p.optional(p.groupIds, wrongForId),
            // Only `false`: pinning needs a registry, which registry-checks.test.ts runs.
            pinDigest: p.optional(fc.constant(false), wrongForBoolean),
            // Only null: groups' own images have rules of their own, which group-admins.test.ts covers.
            ownerGroupId: p.optional(fc.constant(null), wrongForId),
            bogus: p.unknownField,
          })
          .map((given) => (p === clean && given.type !== 'UNIVERSAL' && given.type != null ? { ...given, urlForGpu: undefined } : given)),
      ),
    })
    .map((args) => new Mutation('createImage', { input: CREATE_IMAGE_INPUT }, IMAGE_FIELDS, args, (model, values) => predictCreateImage(model, input(values))));

const updateImage = (p: Palette) =>
  fc
    .record({
      id: p.target('image'),
      input: p.input(
        fc.record({
          displayName: p.change(p.text(MAX_DISPLAY_NAME), wrongForString),
          description: p.optional(p.text(MAX_DESCRIPTION), wrongForString),
          type: p.change(fc.constantFrom(...IMAGE_TYPES), wrongForEnum),
          url: p.change(p.url, wrongForString),
          urlForGpu: p.optional(p.url, wrongForString),
          pullSecretId: p.optional(p.ref('secret'), wrongForId),
          global: p.change(fc.boolean(), wrongForBoolean),
          enabled: p.change(fc.boolean(), wrongForBoolean),
          expectedVersion: p.expectedVersion,
          pinDigest: p.optional(fc.constant(false), wrongForBoolean),
          bogus: p.unknownField,
        }),
      ),
    })
    .map(
      (args) =>
        new Mutation('updateImage', { id: gql.id(true), input: UPDATE_IMAGE_INPUT }, IMAGE_FIELDS, withVersion(args), (model, values) =>
          predictUpdateImage(model, idOf(values), input(values)),
        ),
    );

/** `expectedVersion: { versionDelta }` becomes the target's version (when it exists) plus the delta. */
function withVersion(args: { id: IdRef; input: unknown }): Record<string, unknown> {
  const given = args.input as Record<string, unknown> | null;
  const delta = (given?.expectedVersion as { versionDelta?: number } | undefined)?.versionDelta;
  if (delta === undefined || typeof given !== 'object') return args;
  return { ...args, input: { ...given, expectedVersion: new VersionRef(args.id, delta) } };
}

class VersionRef {
  constructor(
    readonly image: IdRef,
    readonly delta: number,
  ) {}
  toJSON(): string {
    return `version(${showRef(this.image)})${this.delta >= 0 ? '+' : ''}${this.delta}`;
  }
}

const deleteImage = (p: Palette) =>
  p.target('image').map((id) => new Mutation('deleteImage', { id: gql.id(true) }, '', { id }, (model, values) => predictDelete(model, 'image', idOf(values))));

const setImageGroups = (p: Palette) =>
  fc
    .record({ imageId: p.target('image'), groupIds: p === hostile ? fc.oneof({ weight: 40, arbitrary: p.groupIds }, { weight: 1, arbitrary: fc.constantFrom<unknown>(null, {}, 1.5) }) : p.groupIds })
    .map(
      (args) =>
        new Mutation('setImageGroups', { imageId: gql.id(true), groupIds: gql.list(gql.id(true), true) }, IMAGE_FIELDS, args, (model, values) =>
          predictSetImageGroups(model, idOf(values, 'imageId'), values.groupIds as string[]),
        ),
    );

const createGroup = (p: Palette) =>
  fc
    .record({
      input: p.input(
        fc.record({
          name: p.required(p.groupName, wrongForString),
          displayName: p.optional(p.text(MAX_DISPLAY_NAME), wrongForString),
          description: p.optional(p.text(MAX_DESCRIPTION), wrongForString),
          bogus: p.unknownField,
        }),
      ),
    })
    .map((args) => new Mutation('createGroup', { input: CREATE_GROUP_INPUT }, GROUP_FIELDS, args, (model, values) => predictCreateGroup(model, input(values))));

const updateGroup = (p: Palette) =>
  fc
    .record({
      id: p.target('group'),
      input: p.input(fc.record({ displayName: p.change(p.text(MAX_DISPLAY_NAME), wrongForString), description: p.optional(p.text(MAX_DESCRIPTION), wrongForString) })),
    })
    .map(
      (args) =>
        new Mutation('updateGroup', { id: gql.id(true), input: UPDATE_GROUP_INPUT }, GROUP_FIELDS, args, (model, values) =>
          predictUpdateGroup(model, idOf(values), input(values)),
        ),
    );

const deleteGroup = (p: Palette) =>
  p.target('group').map((id) => new Mutation('deleteGroup', { id: gql.id(true) }, '', { id }, (model, values) => predictDelete(model, 'group', idOf(values))));

const createSecret = (p: Palette) =>
  fc
    .record({
      input: p.input(
        fc.record({
          name: p.required(p.secretName, wrongForString),
          displayName: p.optional(p.text(MAX_DISPLAY_NAME), wrongForString),
          registryHost: p.required(p.registryHost, wrongForString),
          username: p.required(p.username, wrongForString),
          password: p.required(p.password, wrongForString),
        }),
      ),
    })
    .map(
      (args) =>
        new Mutation('createImagePullSecret', { input: CREATE_SECRET_INPUT }, SECRET_FIELDS, args, (model, values) => predictCreateSecret(model, input(values))),
    );

const updateSecret = (p: Palette) =>
  fc
    .record({
      id: p.target('secret'),
      input: p.input(
        fc.record({
          displayName: p.change(p.text(MAX_DISPLAY_NAME), wrongForString),
          registryHost: p.change(p.registryHost, wrongForString),
          username: p.change(p.username, wrongForString),
          password: p.change(p.password, wrongForString),
        }),
      ),
    })
    .map(
      (args) =>
        new Mutation('updateImagePullSecret', { id: gql.id(true), input: UPDATE_SECRET_INPUT }, SECRET_FIELDS, args, (model, values) =>
          predictUpdateSecret(model, idOf(values), input(values)),
        ),
    );

const deleteSecret = (p: Palette) =>
  fc
    .record({ id: p.target('secret'), detach: p.detach })
    .map(
      (args) =>
        new Mutation('deleteImagePullSecret', { id: gql.id(true), detach: gql.boolean() }, '', args, (model, values) =>
          predictDelete(model, 'secret', idOf(values), values.detach === true),
        ),
    );

// Several 100 KB values in one call could pass the 1 MiB body limit, which refuses the request
// before GraphQL sees it: that is not what these commands test.
const either = (build: (p: Palette) => fc.Arbitrary<Mutation>) =>
  fc
    .oneof({ weight: 1, arbitrary: build(clean).map((m) => m.drawn('clean')) }, { weight: 1, arbitrary: build(hostile).map((m) => m.drawn('hostile')) })
    .filter((m) => m.bodyBytes() < 900_000);

// Weighted so that records pile up and the links between them get exercised.
const allCommands = fc.oneof(
  { weight: 5, arbitrary: either(createImage) },
  { weight: 4, arbitrary: either(updateImage) },
  { weight: 1, arbitrary: either(deleteImage) },
  { weight: 4, arbitrary: either(setImageGroups) },
  { weight: 3, arbitrary: either(createGroup) },
  { weight: 1, arbitrary: either(updateGroup) },
  { weight: 1, arbitrary: either(deleteGroup) },
  { weight: 2, arbitrary: either(createSecret) },
  { weight: 1, arbitrary: either(updateSecret) },
  { weight: 1, arbitrary: either(deleteSecret) },
);

// ---------------------------------------------------------------------------------------------

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  if (process.env.FUZZ_STATS) {
    const lines = [...outcomes.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `${key}: ${n}`);
    process.stdout.write(`\nfuzz outcomes (seed ${seed}, ${runs} runs):\n  ${lines.join('\n  ')}\n`);
  }
  await app?.close();
});

describe('mutations under generated input', () => {
  // The model's picture of the inputs is written out by hand; a field added to the SDL must show up here.
  it('model the input types as the schema declares them', () => {
    const schema = buildSchema();
    for (const definition of [CREATE_IMAGE_INPUT, UPDATE_IMAGE_INPUT, CREATE_GROUP_INPUT, UPDATE_GROUP_INPUT, CREATE_SECRET_INPUT, UPDATE_SECRET_INPUT]) {
      const type = schema.getType(inputTypeName(definition));
      if (!(type instanceof GraphQLInputObjectType) || definition.kind !== 'input') throw new Error(`${inputTypeName(definition)} is not an input type`);
      const declared = Object.fromEntries(Object.values(type.getFields()).map((field) => [field.name, String(field.type)]));
      const modelled = Object.fromEntries(Object.entries(definition.fields).map(([name, field]) => [name, typeName(field)]));
      expect({ [type.name]: modelled }).toEqual({ [type.name]: declared });
    }
    const imageType = schema.getType('ImageType');
    expect(imageType instanceof GraphQLEnumType && imageType.getValues().map((v) => v.name)).toEqual(IMAGE_TYPES);
  });

  // Generous: shrinking a failure replays many sequences, each against the real service.
  const timeout = 120_000 + runs * 1_500;

  it(
    `keep the stored catalog equal to the model (${runs} runs, seed ${seed})`,
    async () => {
      if (process.env.FUZZ_RUNS || process.env.FUZZ_SEED) process.stdout.write(`fuzz: ${runs} runs, seed ${seed}\n`);
      const property = fc.asyncProperty(
        fc.commands([allCommands], { maxCommands: COMMANDS_PER_RUN, size: 'max', replayPath: process.env.FUZZ_REPLAY }),
        async (commands) => {
          await resetDatabase(app);
          await fc.asyncModelRun(() => ({ model: new CatalogModel(), real: { app } }), commands);
        },
      );
      await fc.assert(property, {
        numRuns: runs,
        seed,
        path: process.env.FUZZ_PATH,
        endOnFailure: Boolean(process.env.FUZZ_PATH),
        interruptAfterTimeLimit: timeout - 20_000,
      });
    },
    timeout,
  );
});
