import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenVerifier } from '../src/auth/token-verifier';
import { loadConfig } from '../src/config';
import { DEV_SECRETS_KEY_FILE, DEV_SIGNING_SECRET_FILE, resolveKeys } from '../src/keys';

const ROOT = join(__dirname, '..');
let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'image-catalog-dev-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

function run(script: string, args: string[], env: Record<string, string>) {
  const { AUTH_JWT_SECRET: _s, AUTH_JWKS_URL: _j, SECRETS_KEY: _k, NODE_ENV: _n, ...inherited } = process.env;
  const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, script), ...args], {
    env: { ...inherited, DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout.trim(), output: `${result.stdout}${result.stderr}` };
}

describe('dev mode', () => {
  it('makes a signing secret and a secrets key once, readable by the owner only, and reuses them', () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    const first = resolveKeys(config);
    const second = resolveKeys(config);
    expect(Buffer.from(first.signingSecret as Uint8Array).equals(Buffer.from(second.signingSecret as Uint8Array))).toBe(true);
    expect(first.secretsKey.equals(second.secretsKey)).toBe(true);
    for (const file of [DEV_SIGNING_SECRET_FILE, DEV_SECRETS_KEY_FILE]) {
      expect(statSync(join(dataDir, file)).mode & 0o777).toBe(0o600);
      expect(Buffer.from(readFileSync(join(dataDir, file), 'utf8').trim(), 'base64')).toHaveLength(32);
    }
  });

  it('mints member and admin tokens with npm run token that the service accepts', async () => {
    const verify = createTokenVerifier(loadConfig({ DATA_DIR: dataDir }).auth, resolveKeys(loadConfig({ DATA_DIR: dataDir })).signingSecret);
    const member = run('src/cli/token.ts', ['--group', 'data-science', '--group', 'vision'], {});
    expect(member.status).toBe(0);
    expect(await verify(`Bearer ${member.stdout}`)).toMatchObject({ isAdmin: false, groupNames: ['data-science', 'vision'], sub: 'dev-member-data-science' });
    const admin = run('src/cli/token.ts', ['--admin', '--sub', 'me'], {});
    expect(await verify(`Bearer ${admin.stdout}`)).toMatchObject({ isAdmin: true, sub: 'me', canReadSecrets: false });
  });

  it('refuses to start in production without auth settings, saying what to set', () => {
    const result = run('src/main.ts', [], { NODE_ENV: 'production', PORT: '0', DATABASE_URL: `sqlite:${join(dataDir, 'db.sqlite')}` });
    expect(result.status).toBe(1);
    expect(result.output).toContain('NODE_ENV=production needs authentication: set AUTH_JWT_SECRET');
  });

  it('refuses to start in production with a malformed SECRETS_KEY', () => {
    const result = run('src/main.ts', [], { NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32), SECRETS_KEY: 'abc', PORT: '0' });
    expect(result.status).toBe(1);
    expect(result.output).toContain('SECRETS_KEY must be 32 bytes in base64');
  });
});
