import type { Request } from 'autocannon';
import type { SoakData } from './seed';

/** What an image created during the soak must hold, from the answers the service gave. */
export interface ExpectedImage {
  version: number;
  groupIds: string[];
  description: string | null;
  deleted: boolean;
}

/** Acknowledged (answered) and sent counts: when the soak stops, requests in flight may still commit. */
export interface SoakCounters {
  ok: number;
  graphqlErrors: number;
  errorSamples: string[];
  creates: number;
  deletes: number;
  mutations: number;
  sent: { creates: number; deletes: number; mutations: number };
  /** Images whose last change was answered; one whose change is still unanswered is left out. */
  expected: Map<string, ExpectedImage>;
}

interface Cycle {
  imageId?: string;
  groupIds?: string[];
  /** The second mutation's effect, applied to the expectation once it is answered. */
  change?: (image: ExpectedImage) => void;
}

const LIST = `query List { images(first: 50) { nodes { id name displayName type url urlForGpu global version
  groups { id name } pullSecret { name } } pageInfo { endCursor hasNextPage } } }`;
const LAUNCHER = 'query Launch($groupId: ID!, $gpu: Boolean!) { launchableImages(groupId: $groupId, gpu: $gpu) { id name urlFor(gpu: $gpu) } }';
const MEMBER_LIST = 'query Mine { images(first: 20) { nodes { id name type url global } } }';
const LOOKUP = 'query Lookup($name: String!) { image(name: $name) { id name version groups { id name } } }';
const GROUPS = 'query Groups { groups(first: 20) { nodes { id name images { id name } } } }';
const ENTITIES = 'query Entities($r: [_Any!]!) { _entities(representations: $r) { ... on Image { id name url } } }';
const AUDIT = 'query Audit { auditEvents(first: 20) { nodes { id operation entityType entityId } } }';
const CREATE = 'mutation Create($input: CreateImageInput!) { createImage(input: $input) { id version } }';
const SET_GROUPS = 'mutation SetGroups($id: ID!, $groupIds: [ID!]!) { setImageGroups(imageId: $id, groupIds: $groupIds) { id version } }';
const UPDATE = 'mutation Update($id: ID!, $input: UpdateImageInput!) { updateImage(id: $id, input: $input) { id version } }';
const DELETE = 'mutation Delete($id: ID!) { deleteImage(id: $id) }';

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];

let serial = 0;

/**
 * One connection's cycle of ten requests: eight reads (admin pages, member launcher and lists,
 * lookups, federation references, the audit trail) and two mutations (a create, then a change or
 * a delete of what it created), so 80% reads and 20% writes. Every response is checked.
 */
export function soakRequests(data: SoakData, counters: SoakCounters): Request[] {
  // A member asks for the launcher of their own group.
  const member = () => Math.floor(Math.random() * data.groups.length);
  const launcher = (gpu: () => boolean): Request => {
    let asked = 0;
    return {
      method: 'POST',
      setupRequest: (request) => {
        asked = member();
        return body(request, data.memberTokens[asked], LAUNCHER, { groupId: data.groups[asked].id, gpu: gpu() });
      },
      onResponse: (status, text) => check(counters, status, text),
    };
  };
  const read = (token: () => string, query: string, variables: () => Record<string, unknown> = () => ({})): Request => ({
    method: 'POST',
    setupRequest: (request) => body(request, token(), query, variables()),
    onResponse: (status, text) => check(counters, status, text),
  });
  const admin = () => data.adminToken;
  return [
    read(admin, LIST),
    launcher(() => true),
    read(() => data.memberTokens[member()], MEMBER_LIST),
    read(admin, LOOKUP, () => ({ name: pick(data.imageNames) })),
    {
      method: 'POST',
      setupRequest: (request, context: Cycle) => {
        counters.sent.creates++;
        counters.sent.mutations++;
        // Created in the second half of the groups, later set to some of the first half: every
        // setImageGroups changes the set, so every acknowledged mutation writes an audit event.
        context.groupIds = [...new Set([pick(data.groups.slice(10)).id, pick(data.groups.slice(10)).id])];
        return body(request, data.adminToken, CREATE, {
          input: { name: `soak-${process.pid}-${++serial}`, type: 'CPU', url: `registry.example.com/soak/image-${serial}:1`, groupIds: context.groupIds },
        });
      },
      onResponse: (status, text, context: Cycle) => {
        const created = check(counters, status, text) as { createImage?: { id: string } } | undefined;
        if (created?.createImage) {
          context.imageId = created.createImage.id;
          counters.creates++;
          counters.mutations++;
          counters.expected.set(context.imageId, { version: 1, groupIds: context.groupIds ?? [], description: null, deleted: false });
        }
      },
    },
    read(admin, GROUPS),
    launcher(() => false),
    read(admin, ENTITIES, () => ({ r: Array.from({ length: 20 }, () => ({ __typename: 'Image', id: pick(data.imageIds) })) })),
    read(admin, AUDIT),
    {
      method: 'POST',
      setupRequest: (request, context: Cycle) => {
        const id = context.imageId ?? pick(data.imageIds);
        const which = context.imageId ? Math.floor(Math.random() * 3) : 1;
        counters.sent.mutations++;
        if (which === 2) counters.sent.deletes++;
        // Unknown until answered: it may commit even if the soak stops before the answer.
        if (context.imageId) counters.expected.delete(context.imageId);
        if (which === 0) {
          const groupIds = data.groups.slice(0, 1 + Math.floor(Math.random() * 8)).map((g) => g.id);
          context.change = (image) => Object.assign(image, { version: image.version + 1, groupIds });
          return body(request, data.adminToken, SET_GROUPS, { id, groupIds });
        }
        if (which === 1) {
          const description = `changed by soak request ${++serial}`;
          context.change = (image) => Object.assign(image, { version: image.version + 1, description });
          return body(request, data.adminToken, UPDATE, { id, input: { description } });
        }
        context.change = (image) => Object.assign(image, { deleted: true });
        return body(request, data.adminToken, DELETE, { id });
      },
      onResponse: (status, text, context: Cycle) => {
        const result = check(counters, status, text) as Record<string, unknown> | undefined;
        if (!result) return;
        counters.mutations++;
        if ('deleteImage' in result) counters.deletes++;
        if (context.imageId && context.groupIds && context.change) {
          const image: ExpectedImage = { version: 1, groupIds: context.groupIds, description: null, deleted: false };
          context.change(image);
          counters.expected.set(context.imageId, image);
        }
      },
    },
  ];
}

function body(request: Request, token: string, query: string, variables: Record<string, unknown>): Request {
  return {
    ...request,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  };
}

/** The response's data when it is a 200 without errors; anything else is counted. */
function check(counters: SoakCounters, status: number, text: string): Record<string, unknown> | undefined {
  let parsed: { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] } | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (status !== 200 || !parsed?.data || parsed.errors) {
    counters.graphqlErrors++;
    if (counters.errorSamples.length < 3) counters.errorSamples.push(`${status} ${JSON.stringify(parsed?.errors ?? text.slice(0, 200))}`);
    return undefined;
  }
  counters.ok++;
  return parsed.data;
}
