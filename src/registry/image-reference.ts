/**
 * A container image reference taken apart the way Docker reads it: the first path component is a
 * registry only when it looks like one (has a `.` or a `:`, or is `localhost`); otherwise the
 * reference is on the default registry (Docker Hub unless REGISTRY_DEFAULT_HOST says otherwise),
 * where a single-component name lives under `library/`.
 */
export interface ImageReference {
  /** The registry as written, or the default host: what pull-secret hosts are matched against. */
  registry: string;
  /** Where the registry's API answers: Docker Hub's API host for `docker.io`. */
  apiHost: string;
  repository: string;
  tag: string | null;
  digest: string | null;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set([DOCKER_HUB, 'index.docker.io', DOCKER_HUB_API]);

export function parseImageReference(reference: string, defaultHost: string): ImageReference {
  const at = reference.indexOf('@');
  const digest = at >= 0 ? reference.slice(at + 1) : null;
  const named = at >= 0 ? reference.slice(0, at) : reference;
  const slash = named.indexOf('/');
  const first = slash >= 0 ? named.slice(0, slash) : '';
  const hasRegistry = slash >= 0 && (/[.:]/.test(first) || first === 'localhost');
  const registry = hasRegistry ? first : defaultHost;
  let path = hasRegistry ? named.slice(slash + 1) : named;
  const colon = path.lastIndexOf(':');
  const tag = colon > path.lastIndexOf('/') ? path.slice(colon + 1) : null;
  if (tag !== null) path = path.slice(0, colon);
  if (!hasRegistry || isDockerHub(registry)) {
    if (!path.includes('/')) path = `library/${path}`;
  }
  return {
    registry: normalizeRegistryHost(registry),
    apiHost: registryApiHost(registry),
    repository: path,
    tag: tag ?? (digest ? null : 'latest'),
    digest,
  };
}

/** `repository[:tag]@digest` on the same registry as written: what a pinned image's url becomes. */
export function pinnedReference(reference: string, digest: string): string {
  const at = reference.indexOf('@');
  return `${at >= 0 ? reference.slice(0, at) : reference}@${digest}`;
}

/** The reference without its digest, so a pin can be refreshed from its tag. */
export function withoutDigest(reference: string): string {
  const at = reference.indexOf('@');
  return at >= 0 ? reference.slice(0, at) : reference;
}

/** Where a registry's API answers: Docker Hub's is not at `docker.io` itself. */
export function registryApiHost(host: string): string {
  return isDockerHub(host) ? DOCKER_HUB_API : host.toLowerCase();
}

/** Docker Hub's aliases are one registry, as Docker's own credential lookup treats them. */
export function normalizeRegistryHost(host: string): string {
  const lower = host.toLowerCase();
  return isDockerHub(lower) ? DOCKER_HUB : lower;
}

function isDockerHub(host: string): boolean {
  return DOCKER_HUB_ALIASES.has(host.toLowerCase());
}
