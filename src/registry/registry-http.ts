import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';

/** Manifests are small; a registry sending more is broken or hostile (the spec suggests 4 MiB as the cap). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 3;
/**
 * A whole check (its redirects, token requests and platform lookups) gets this many request
 * timeouts: each request has its own deadline, but a registry answering each just in time could
 * otherwise hold a check, and a slot of the concurrency cap, for minutes.
 */
export const CHECK_DEADLINE_FACTOR = 3;

export interface RegistryHttpSettings {
  /** Each request, from connecting to the last byte, must finish within this. */
  timeoutMs: number;
  /** PEM certificates trusted beside the system's roots (REGISTRY_CA_FILE). */
  extraCa?: string;
  /** Hosts (`host[:port]`) spoken to over plain HTTP (REGISTRY_PLAIN_HTTP_HOSTS). */
  plainHttpHosts: ReadonlySet<string>;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: string;
}

/** The registry could not be talked to; the message names the cause and never holds credentials. */
export class UnreachableError extends Error {}

export interface HttpRequest {
  url: string;
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  /** The deadline of the whole check the request belongs to, beside the request's own. */
  deadline?: AbortSignal;
}

/**
 * HTTP to registries through undici: one connection pool per registry, the extra CA, a deadline
 * per request, and redirects followed by hand so that credentials never go to another origin.
 */
export class RegistryHttp {
  private readonly agent: Agent;

  constructor(private readonly settings: RegistryHttpSettings) {
    this.agent = new Agent({
      connect: {
        timeout: settings.timeoutMs,
        // Node replaces its roots when `ca` is given: keep them, and add the operator's.
        ...(settings.extraCa ? { ca: [...rootCertificates, settings.extraCa] } : {}),
      },
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      connections: 8,
    });
  }

  /** `https://host`, or `http://host` for the hosts REGISTRY_PLAIN_HTTP_HOSTS names. */
  origin(host: string): string {
    return `${this.settings.plainHttpHosts.has(host.toLowerCase()) ? 'http' : 'https'}://${host}`;
  }

  /** Whether credentials may be sent to this URL: over TLS, or to a host the operator declared plain. */
  maySendCredentials(url: URL): boolean {
    return url.protocol === 'https:' || (url.protocol === 'http:' && this.settings.plainHttpHosts.has(url.host.toLowerCase()));
  }

  async send(first: HttpRequest): Promise<HttpAnswer> {
    const origin = new URL(first.url).origin;
    let url = first.url;
    for (let hop = 0; ; hop++) {
      // A redirect to another origin (a CDN serving the bytes, or a hostile one) gets no credentials.
      const headers = new URL(url).origin === origin ? first.headers : withoutAuthorization(first.headers);
      const answer = await this.once({ ...first, url, headers });
      const location = answer.headers.location;
      if (![301, 302, 303, 307, 308].includes(answer.status) || !location) return answer;
      if (hop >= MAX_REDIRECTS) throw new UnreachableError(`more than ${MAX_REDIRECTS} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new UnreachableError('redirected to something that is not a URL');
      }
      // The rule for credentials is the rule for following at all: TLS, or a host declared plain.
      if (!this.maySendCredentials(next)) {
        throw new UnreachableError(`redirected to a ${next.protocol.replace(':', '')} URL, which is not followed`);
      }
      url = next.toString();
    }
  }

  close({ abort = false }: { abort?: boolean } = {}): Promise<void> {
    return abort ? this.agent.destroy() : this.agent.close();
  }

  private async once(req: HttpRequest): Promise<HttpAnswer> {
    const own = AbortSignal.timeout(this.settings.timeoutMs);
    const signal = req.deadline ? AbortSignal.any([own, req.deadline]) : own;
    try {
      const response = await request(req.url, { method: req.method, headers: req.headers, dispatcher: this.agent, signal });
      const body = req.method === 'HEAD' ? Buffer.alloc(0) : await readCapped(response.body);
      if (req.method === 'HEAD') await response.body.dump();
      return { status: response.statusCode, headers: flatten(response.headers), body, url: req.url };
    } catch (error) {
      if (error instanceof UnreachableError) throw error;
      if (req.deadline?.aborted) throw new UnreachableError(`the check took longer than ${CHECK_DEADLINE_FACTOR} × REGISTRY_TIMEOUT_MS`);
      throw new UnreachableError(describeNetworkError(error, this.settings.timeoutMs));
    }
  }
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      throw new UnreachableError(`the answer is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  const rest: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() !== 'authorization') rest[name] = value;
  return rest;
}

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);

/**
 * A cause from the error's code only: driver and TLS messages may quote URLs or peer data, and
 * this text ends up in the API and the audit trail.
 */
export function describeNetworkError(error: unknown, timeoutMs: number): string {
  const { code, name } = causeOf(error);
  if (name === 'TimeoutError' || name === 'AbortError' || (code && /TIMEOUT/.test(code))) return `no answer within ${timeoutMs} ms (REGISTRY_TIMEOUT_MS)`;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return 'the registry host name does not resolve (DNS)';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'the connection was closed by the registry';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'no route to the registry host';
  if (code && TLS_TRUST_CODES.has(code)) return `TLS: the registry's certificate is not trusted (${code}); set REGISTRY_CA_FILE to its CA`;
  if (code === 'CERT_HAS_EXPIRED') return 'TLS: the registry\'s certificate has expired';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'TLS: the registry\'s certificate is for another host name';
  if (code && (/^ERR_SSL|^ERR_TLS|SSL/.test(code))) return `TLS handshake failed (${code})`;
  if (code === 'HPE_INVALID_CONSTANT' || (code && code.startsWith('HPE_'))) return 'the registry does not speak HTTP';
  return `request failed (${code ?? name ?? 'unknown error'})`;
}

function causeOf(error: unknown): { code?: string; name?: string } {
  let current: unknown = error;
  // undici wraps the socket's error in `cause`; the innermost code is the telling one.
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const { code, cause, name } = current as { code?: unknown; cause?: unknown; name?: unknown };
    if (typeof code === 'string' && code !== 'UND_ERR' && !(cause && typeof cause === 'object' && 'code' in cause)) return { code, name: String(name) };
    if (!cause) return { code: typeof code === 'string' ? code : undefined, name: typeof name === 'string' ? name : undefined };
    current = cause;
  }
  return {};
}
