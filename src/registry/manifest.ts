import { createHash } from 'node:crypto';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

/** Sent with every manifest request: without the index types a registry may answer with one platform's manifest. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest].join(', ');

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);

export interface PlatformEntry {
  os: string;
  architecture: string;
  variant: string | null;
  digest: string;
}

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; compressedSize: number }
  | { kind: 'index'; mediaType: string; platforms: PlatformEntry[] };

export class NotAManifestError extends Error {}

export function sha256Digest(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/**
 * What a manifest or index says, or NotAManifestError for anything else (HTML, a truncated body,
 * a schema 1 manifest). The media type comes from the body when it names one, else from the
 * Content-Type, as the distribution spec allows either.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let document: unknown;
  try {
    document = JSON.parse(body.toString('utf8'));
  } catch {
    throw new NotAManifestError('the answer is not JSON');
  }
  if (!isObject(document) || document.schemaVersion !== 2) throw new NotAManifestError('the answer is not a schema 2 manifest or index');
  const mediaType = typeof document.mediaType === 'string' ? document.mediaType : (contentType ?? '').split(';')[0].trim();
  if (INDEX_TYPES.has(mediaType) || (!mediaType && Array.isArray(document.manifests))) {
    if (!Array.isArray(document.manifests)) throw new NotAManifestError('the index lists no manifests');
    return { kind: 'index', mediaType: mediaType || MEDIA_TYPES.ociIndex, platforms: document.manifests.flatMap(platformOf) };
  }
  if (MANIFEST_TYPES.has(mediaType) || (!mediaType && Array.isArray(document.layers))) {
    const config = document.config;
    const layers = document.layers;
    if (!isObject(config) || !Array.isArray(layers)) throw new NotAManifestError('the manifest has no config or layers');
    const sizes = [config.size, ...layers.map((layer) => (isObject(layer) ? layer.size : undefined))];
    if (!sizes.every((size) => typeof size === 'number' && Number.isSafeInteger(size) && size >= 0)) {
      throw new NotAManifestError('the manifest has a blob without a valid size');
    }
    return { kind: 'manifest', mediaType: mediaType || MEDIA_TYPES.ociManifest, compressedSize: (sizes as number[]).reduce((a, b) => a + b, 0) };
  }
  throw new NotAManifestError(`unsupported media type ${JSON.stringify(mediaType.slice(0, 100))}`);
}

/**
 * A platform of an index; attestation and signature entries (BuildKit's `unknown/unknown`) are
 * not platforms anyone can run.
 */
function platformOf(entry: unknown): PlatformEntry[] {
  if (!isObject(entry) || !isObject(entry.platform) || typeof entry.digest !== 'string') return [];
  const { os, architecture, variant } = entry.platform;
  if (typeof os !== 'string' || typeof architecture !== 'string' || os === 'unknown' || architecture === 'unknown') return [];
  return [{ os, architecture, variant: typeof variant === 'string' ? variant : null, digest: entry.digest }];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
