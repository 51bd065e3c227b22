/**
 * The naming and reference grammars the catalog enforces, written after the Kubernetes and
 * container-registry (distribution/reference) specifications.
 */

const DNS_LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
export const MAX_NAME_LENGTH = 63;

/** Image and pull-secret names: a DNS-1123 subdomain, capped at 63 characters. */
export function isDns1123Subdomain(value: string): boolean {
  return value.length <= MAX_NAME_LENGTH && DNS_SUBDOMAIN.test(value);
}

const GROUP_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$/;

export function isGroupName(value: string): boolean {
  return value.length <= MAX_NAME_LENGTH && GROUP_NAME.test(value);
}

// Registry host: a domain name (components of letters, digits and inner hyphens), an IPv4
// address, or a bracketed IPv6 address; then an optional port.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[[a-fA-F0-9:]+\\]';
const HOST = `(?:${DOMAIN_NAME}|${IPV6})`;
const PORT = '[0-9]{1,5}';
const HOST_PORT = new RegExp(`^(${HOST})(?::(${PORT}))?$`);

export function isRegistryHost(value: string): boolean {
  const match = HOST_PORT.exec(value);
  if (!match || value.length > 255) return false;
  return match[2] === undefined || (Number(match[2]) >= 1 && Number(match[2]) <= 65535);
}

// Repository path: components of lowercase alphanumerics joined by `.`, `_`, `__` or dashes.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PATH = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(?:(${HOST}(?::${PORT})?)/)?(${PATH})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const MAX_REPOSITORY_NAME = 255;
const KNOWN_DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * A container image reference: `[registry[:port]/]path[:tag][@digest]`. The first component
 * counts as a registry only when it looks like one (has a `.` or a port, or is `localhost`),
 * as Docker reads it; `jupyter/base-notebook:2023-10-20` is a Docker Hub path.
 */
export function isImageReference(value: string): boolean {
  const match = REFERENCE.exec(value);
  if (!match) return false;
  const [, registry, path, , digest] = match;
  const looksLikeRegistry = registry !== undefined && (/[.:]/.test(registry) || registry === 'localhost');
  if (registry !== undefined && !looksLikeRegistry && !new RegExp(`^${PATH_COMPONENT}$`).test(registry)) return false;
  if (registry) {
    const port = /:([0-9]+)$/.exec(registry)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  }
  const repositoryName = registry ? `${registry}/${path}` : path;
  if (repositoryName.length > MAX_REPOSITORY_NAME) return false;
  if (digest) {
    const [algorithm, hex] = digest.split(':');
    const expected = KNOWN_DIGEST_LENGTHS[algorithm.toLowerCase()];
    if (expected !== undefined && hex.length !== expected) return false;
  }
  return true;
}
