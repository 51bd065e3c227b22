import type { Request } from 'autocannon';
import type { SoakData } from './seed';

/** Acknowledged (answered) and sent counts: when the soak stops, requests in flight may still commit. */
export interface SoakCounters {
  ok: number;
  graphqlErrors: number;
  errorSamples: string[];
  creates: number;
  deletes: number;
  mutations: number;
  sent: { creates: number; deletes: number; mutations: number };
}

interface Cycle {
  imageId?: string;
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
      setupRequest: (request) => {
        counters.sent.creates++;
        counters.sent.mutations++;
        return body(request, data.adminToken, CREATE, {
          input: {
            name: `soak-${process.pid}-${++serial}`,
            type: 'CPU',
            url: `registry.example.com/soak/image-${serial}:1`,
            groupIds: [pick(data.groups).id, pick(data.groups).id].filter((id, i, all) => all.indexOf(id) === i),
          },
        });
      },
      onResponse: (status, text, context: Cycle) => {
        const created = check(counters, status, text) as { createImage?: { id: string } } | undefined;
        if (created?.createImage) {
          context.imageId = created.createImage.id;
          counters.creates++;
          counters.mutations++;
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
        if (which === 0) return body(request, data.adminToken, SET_GROUPS, { id, groupIds: data.groups.slice(0, 1 + Math.floor(Math.random() * 8)).map((g) => g.id) });
        if (which === 1) return body(request, data.adminToken, UPDATE, { id, input: { description: `changed ${new Date().toISOString()}` } });
        return body(request, data.adminToken, DELETE, { id });
      },
      onResponse: (status, text) => {
        const result = check(counters, status, text) as Record<string, unknown> | undefined;
        if (!result) return;
        counters.mutations++;
        if ('deleteImage' in result) counters.deletes++;
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
