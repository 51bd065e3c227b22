import type { Request } from 'autocannon';
import type { Dataset } from './dataset';

export const LIST = `query List($after: String) { images(first: 50, after: $after) { nodes { id name displayName type url urlForGpu global version
  groups { id name } pullSecret { name } } pageInfo { endCursor hasNextPage } } }`;
const LAUNCHER = 'query Launch($groupId: ID!) { launchableImages(groupId: $groupId, gpu: true) { id name urlFor(gpu: true) } }';
// Issue 15's list: a page of 50 with totalCount, 12 fields, each image's groups and pull secret.
const PAGE = `query Page($after: String) { images(first: 50, after: $after) { totalCount nodes { id name displayName description type url urlForGpu
  global enabled version createdAt updatedAt groups { id name displayName } pullSecret { id name } } pageInfo { endCursor hasNextPage } } }`;
const LAUNCH_FIELDS = (gpu: boolean) => `id name displayName urlFor(gpu: ${gpu}) pullSecret { id name }`;
const LAUNCH_CPU = `query LaunchCpu($groupId: ID!) { launchableImages(groupId: $groupId, gpu: false) { ${LAUNCH_FIELDS(false)} } }`;
const LAUNCH_GPU = `query LaunchGpu($groupId: ID!) { launchableImages(groupId: $groupId, gpu: true) { ${LAUNCH_FIELDS(true)} } }`;
// A word most descriptions hold, counted too: the folded search scans every row.
const SEARCH = 'query Search { images(first: 20, filter: { search: "cuda" }) { totalCount nodes { id name } } }';
const LOOKUP = 'query Lookup($name: String!) { image(name: $name) { id name groups { id name } } }';
const ENTITIES = 'query Entities($r: [_Any!]!) { _entities(representations: $r) { ... on Image { id name displayName type url } } }';
const CREATE = 'mutation Create($input: CreateImageInput!) { createImage(input: $input) { id version } }';
const UPDATE = 'mutation Update($id: ID!, $input: UpdateImageInput!) { updateImage(id: $id, input: $input) { id version } }';
const SET_GROUPS = 'mutation SetGroups($id: ID!, $groupIds: [ID!]!) { setImageGroups(imageId: $id, groupIds: $groupIds) { id version groups { id } } }';

/** Responses that were 2xx but not a clean answer: GraphQL errors, no data, or not what was asked. */
export interface BodyCheck {
  failures: number;
  samples: string[];
}

export interface ScenarioSetup {
  dataset: Dataset;
  token: string;
  /** The cursor after which page 190 of 200 starts, found by walking the pages once. */
  deepCursor: string;
}

export interface Scenario {
  name: string;
  /** Also driven against the raw floor, the service's own statements (MySQL/MariaDB only). */
  floor?: boolean;
  /**
   * Also driven against the strong floor, the least SQL for the same JSON (MySQL/MariaDB only);
   * the request the bench first sends to both, to check that the floor answers the same JSON.
   */
  strong?: (setup: ScenarioSetup) => { query: string; variables: Data };
  requests(setup: ScenarioSetup, check: BodyCheck): Request[];
}

type Data = Record<string, unknown>;
interface ListPage {
  images: { nodes: unknown[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } };
}

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
let serial = 0;

export const SCENARIOS: Scenario[] = [
  {
    name: 'list',
    floor: true,
    // autocannon clears a connection's context when it comes to the end of `requests`: one request
    // per page keeps the cursor for a whole walk, and each walk starts again at page 1.
    requests: (setup, check) => Array.from({ length: setup.dataset.imageIds.length / 50 }, () => listWalk(setup, check)),
  },
  { name: 'page 1', requests: (setup, check) => [read(setup.token, check, LIST, () => ({ after: null }), fullPage)] },
  { name: 'deep page (190/200)', requests: (setup, check) => [read(setup.token, check, LIST, () => ({ after: setup.deepCursor }), fullPage)] },
  {
    name: 'launcher',
    floor: true,
    requests: (setup, check) => [
      read(setup.token, check, LAUNCHER, () => ({ groupId: setup.dataset.launcherGroupId }), (data) => {
        const count = (data.launchableImages as unknown[] | undefined)?.length;
        return count === setup.dataset.launcherUsable ? undefined : `${count} launchable images, ${setup.dataset.launcherUsable} expected`;
      }),
    ],
  },
  {
    name: 'list + totalCount (page 1)',
    strong: () => ({ query: PAGE, variables: { after: null } }),
    requests: (setup, check) => [read(setup.token, check, PAGE, () => ({ after: null }), (data) => (fullPage(data) ?? (typeof (data.images as { totalCount?: unknown }).totalCount === 'number' ? undefined : 'no totalCount')))],
  },
  {
    name: 'launcher gpu:false',
    strong: (setup) => ({ query: LAUNCH_CPU, variables: { groupId: setup.dataset.launcherGroupId } }),
    requests: (setup, check) => [read(setup.token, check, LAUNCH_CPU, () => ({ groupId: setup.dataset.launcherGroupId }), (data) => ((data.launchableImages as unknown[] | undefined)?.length ? undefined : 'no launchable images'))],
  },
  {
    name: 'launcher gpu:true',
    strong: (setup) => ({ query: LAUNCH_GPU, variables: { groupId: setup.dataset.launcherGroupId } }),
    requests: (setup, check) => [
      read(setup.token, check, LAUNCH_GPU, () => ({ groupId: setup.dataset.launcherGroupId }), (data) => {
        const count = (data.launchableImages as unknown[] | undefined)?.length;
        return count === setup.dataset.launcherUsable ? undefined : `${count} launchable images, ${setup.dataset.launcherUsable} expected`;
      }),
    ],
  },
  {
    name: 'lookup',
    strong: (setup) => ({ query: LOOKUP, variables: { name: setup.dataset.imageNames[7] } }),
    requests: (setup, check) => [read(setup.token, check, LOOKUP, () => ({ name: pick(setup.dataset.imageNames) }), (data) => (data.image ? undefined : 'image not found'))],
  },
  {
    name: 'federation (100 _entities)',
    strong: (setup) => ({ query: ENTITIES, variables: { r: setup.dataset.imageIds.slice(0, 100).map((id) => ({ __typename: 'Image', id })) } }),
    requests: (setup, check) => [
      read(setup.token, check, ENTITIES, () => ({ r: Array.from({ length: 100 }, () => ({ __typename: 'Image', id: pick(setup.dataset.imageIds) })) }), (data) =>
        (data._entities as unknown[]).every((entity) => entity !== null) ? undefined : 'an entity did not resolve',
      ),
    ],
  },
  {
    name: 'search',
    requests: (setup, check) => [read(setup.token, check, SEARCH, () => ({}), (data) => ((data.images as { totalCount: number }).totalCount > 0 ? undefined : 'nothing found'))],
  },
  { name: 'writes', requests: writeCycle },
];

function listWalk(setup: ScenarioSetup, check: BodyCheck): Request {
  return {
    method: 'POST',
    setupRequest: (request, context: { after?: string }) => body(request, setup.token, LIST, { after: context.after ?? null }),
    onResponse: (status, text, context: { after?: string }) => {
      const page = checked(check, status, text, (data) => ((data as unknown as ListPage).images?.nodes?.length ? undefined : 'empty page')) as ListPage | undefined;
      context.after = page?.images.pageInfo.hasNextPage ? (page.images.pageInfo.endCursor ?? undefined) : undefined;
    },
  };
}

interface WriteContext {
  imageId?: string;
  flip?: boolean;
}

/** create, then update and regroup the image this connection created: no two connections share a row. */
function writeCycle(setup: ScenarioSetup, check: BodyCheck): Request[] {
  const groups = setup.dataset.groupIds;
  // Two disjoint sets of 8, alternated, so every setImageGroups changes the set.
  const sets = [groups.slice(1, 9), groups.slice(9, 17)];
  return [
    {
      method: 'POST',
      setupRequest: (request, context: WriteContext) => {
        context.imageId = undefined;
        const n = `${process.pid}-${++serial}`;
        return body(request, setup.token, CREATE, { input: { name: `bench-write-${n}`, type: 'CPU', url: `registry0.example.com/bench/write-${n}:1`, groupIds: sets[0] } });
      },
      onResponse: (status, text, context: WriteContext) => {
        context.imageId = (checked(check, status, text) as { createImage?: { id: string } } | undefined)?.createImage?.id;
      },
    },
    {
      method: 'POST',
      setupRequest: (request, context: WriteContext) =>
        body(request, setup.token, UPDATE, { id: context.imageId ?? 'missing', input: { description: `changed at ${Date.now()} by request ${++serial}` } }),
      onResponse: (status, text) => void checked(check, status, text),
    },
    {
      method: 'POST',
      setupRequest: (request, context: WriteContext) => {
        context.flip = !context.flip;
        return body(request, setup.token, SET_GROUPS, { id: context.imageId ?? 'missing', groupIds: sets[context.flip ? 1 : 0] });
      },
      onResponse: (status, text) =>
        void checked(check, status, text, (data) => ((data.setImageGroups as { groups: unknown[] }).groups.length === 8 ? undefined : 'not 8 groups')),
    },
  ];
}

function fullPage(data: Data): string | undefined {
  return (data as unknown as ListPage).images.nodes.length === 50 ? undefined : 'not a page of 50';
}

function read(token: string, check: BodyCheck, query: string, variables: () => Data, expect?: (data: Data) => string | undefined): Request {
  return {
    method: 'POST',
    setupRequest: (request) => body(request, token, query, variables()),
    onResponse: (status, text) => void checked(check, status, text, expect),
  };
}

function body(request: Request, token: string, query: string, variables: Data): Request {
  return { ...request, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) };
}

/**
 * The data of a clean 2xx answer. A non-2xx status is left to autocannon's own count, so that no
 * response is counted twice.
 */
function checked(check: BodyCheck, status: number, text: string, expect?: (data: Data) => string | undefined): Data | undefined {
  if (status < 200 || status > 299) return undefined;
  let problem: string | undefined;
  let data: Data | undefined;
  try {
    const parsed = JSON.parse(text) as { data?: Data | null; errors?: unknown[] };
    if (parsed.errors) problem = JSON.stringify(parsed.errors).slice(0, 300);
    else if (!parsed.data) problem = 'no data';
    else problem = expect?.(parsed.data);
    data = parsed.data ?? undefined;
  } catch {
    problem = `not JSON: ${text.slice(0, 100)}`;
  }
  if (problem === undefined) return data;
  check.failures++;
  if (check.samples.length < 3) check.samples.push(problem);
  return undefined;
}
