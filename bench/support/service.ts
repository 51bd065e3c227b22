import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mintToken, TokenClaims } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { spawnUntil } from '../../test/helpers/spawn-until';

const ROOT = join(__dirname, '..', '..');

/** The service in a process of its own, with a signing secret only this run knows. */
export interface Service {
  url: string;
  pid: number;
  mint(claims: TokenClaims): Promise<string>;
  /** Sends one operation as an admin; throws on any GraphQL error. */
  admin<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/** The node flags `npm start` gives the service (package.json config.nodeOptions): its heap settings. */
export const START_NODE_OPTIONS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { config: { nodeOptions: string } }).config.nodeOptions;

/**
 * Builds first and runs dist/main.js with npm start's node flags, as `npm start` does (ts-node
 * would add its compiler to the memory measured). NODE_OPTIONS in `env` comes after them and wins.
 */
export async function startService(env: Record<string, string>, nodeArgs: string[] = []): Promise<Service> {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  // The datasets' urls name no real images, and registry checks would send them to Docker Hub.
  const settings = { AUTH_JWT_SECRET: randomBytes(32).toString('base64'), SECRETS_KEY: randomBytes(32).toString('base64'), PORT: '0', HOST: '127.0.0.1', REGISTRY_CHECKS: 'off', ...env };
  // Above LOG_LEVEL=info the ready line is not logged: with a fixed PORT, /readyz tells instead.
  const fixed = settings.PORT !== '0' ? `http://${settings.HOST}:${settings.PORT}` : undefined;
  const started = await spawnUntil([...nodeArgs, join(ROOT, 'dist', 'main.js')], {
    env: { ...process.env, ...settings, NODE_OPTIONS: [START_NODE_OPTIONS, process.env.NODE_OPTIONS, env.NODE_OPTIONS].filter(Boolean).join(' ') },
    label: 'the service',
    timeoutMs: 60_000,
    ready: (output) => /GraphQL at (http:\/\/\S+) \(ready\)/.exec(output)?.[1],
    poll: fixed ? async () => ((await fetch(`${fixed}/readyz`)).status === 200 ? `${fixed}/graphql` : undefined) : undefined,
    // Kept short: the service logs a line per request, and only the last lines explain a failure.
    keepChars: 20_000,
  });
  const { child, exited, found: url } = started;
  const auth = loadConfig(settings).auth;
  const secret = new TextEncoder().encode(settings.AUTH_JWT_SECRET);
  const mint = (claims: TokenClaims) => mintToken(secret, auth, { expiresIn: '2h', ...claims });
  const adminToken = await mint({ sub: 'soak-admin', admin: true });
  return {
    url,
    pid: child.pid!,
    mint,
    admin: async <T>(query: string, variables?: Record<string, unknown>) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: T; errors?: unknown[] };
      if (body.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
      return body.data as T;
    },
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`the service exited with ${code} on SIGTERM:\n${started.output().slice(-2_000)}`);
    },
  };
}
