import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PasswordCipher } from '../src/pull-secrets/password-cipher';
import { resealPasswords } from '../src/pull-secrets/password-rotation';
import { createPullSecret } from './helpers/factories';
import { startTestApp, TEST_SECRETS_KEY, TestApp } from './helpers/test-app';

const OLD_KEY = Buffer.from(TEST_SECRETS_KEY, 'base64');
const NEW_KEY = Buffer.alloc(32, 9);
const UNKNOWN_KEY = Buffer.alloc(32, 3);

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

async function stored(): Promise<{ id: string; name: string; password: string }[]> {
  return app.dataSource.query('SELECT id, name, password FROM image_pull_secrets ORDER BY name');
}

function rotate(env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', 'src', 'cli', 'rotate-secrets.ts')], {
    env: { ...process.env, DATABASE_URL: app.databaseUrl, NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32), ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('registry passwords at rest', () => {
  it('are never stored in clear: the raw table holds only AES-GCM envelopes', async () => {
    const passwords = ['clear-text-Passw0rd', 'ünïcødé-пароль-🔑'];
    for (const password of passwords) await createPullSecret(app, { password });
    const rows = await stored();
    for (const row of rows) {
      expect(row.password).toMatch(/^v1\.[\w-]{11}\.[\w-]+\.[\w-]+\.[\w-]+$/);
      for (const password of passwords) expect(row.password).not.toContain(password);
    }
    const cipher = new PasswordCipher(OLD_KEY);
    expect(rows.map((row) => cipher.open(row.id, row.password)).sort()).toEqual([...passwords].sort());
  });

  it('rotate to a new key with npm run secrets:rotate, and every secret still opens', async () => {
    const before = await stored();
    const old = new PasswordCipher(OLD_KEY);
    const clear = new Map(before.map((row) => [row.id, old.open(row.id, row.password)]));

    const run = rotate({ SECRETS_KEY: NEW_KEY.toString('base64'), SECRETS_KEY_PREVIOUS: OLD_KEY.toString('base64') });
    expect(run).toMatchObject({ status: 0 });
    expect(run.output).toContain(`${before.length} password(s) sealed under the current key`);

    const fresh = new PasswordCipher(NEW_KEY);
    for (const row of await stored()) {
      expect(fresh.isSealedWithCurrentKey(row.password)).toBe(true);
      expect(fresh.open(row.id, row.password)).toBe(clear.get(row.id));
      expect(() => old.open(row.id, row.password)).toThrow(/neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS/);
    }
    const again = rotate({ SECRETS_KEY: NEW_KEY.toString('base64'), SECRETS_KEY_PREVIOUS: OLD_KEY.toString('base64') });
    expect(again.output).toContain(`0 password(s) sealed under the current key, ${before.length} already were`);

    // Back to the key the running test app uses, through the same path.
    expect(rotate({ SECRETS_KEY: OLD_KEY.toString('base64'), SECRETS_KEY_PREVIOUS: NEW_KEY.toString('base64') }).status).toBe(0);
  });

  it('stops a rotation that meets a password no key opens, naming the secret and changing nothing', async () => {
    const stranger = await createPullSecret(app);
    const foreign = new PasswordCipher(UNKNOWN_KEY).seal(stranger.id, 'foreign-Passw0rd');
    await app.dataSource.query('UPDATE image_pull_secrets SET password = ? WHERE id = ?', [foreign, stranger.id]);
    const before = await stored();

    const run = rotate({ SECRETS_KEY: NEW_KEY.toString('base64'), SECRETS_KEY_PREVIOUS: OLD_KEY.toString('base64') });
    expect(run.status).toBe(1);
    expect(run.output).toContain(`image pull secret "${stranger.name}"`);
    expect(run.output).toContain('nothing was changed');
    expect(run.output).not.toContain('foreign-Passw0rd');
    expect(await stored()).toEqual(before);
    await app.ok(`mutation { deleteImagePullSecret(id: "${stranger.id}") }`);
  });

  it('refuses to rotate in production without SECRETS_KEY, or with a malformed one', async () => {
    const missing = rotate({ SECRETS_KEY: '' });
    expect(missing.status).toBe(1);
    expect(missing.output).toContain('NODE_ENV=production needs SECRETS_KEY');
    const malformed = rotate({ SECRETS_KEY: 'too-short' });
    expect(malformed.status).toBe(1);
    expect(malformed.output).toContain('SECRETS_KEY must be 32 bytes in base64');
  });

  it('seals passwords an earlier version stored in clear, at start, leaving sealed ones alone', async () => {
    const legacy = await createPullSecret(app);
    await app.dataSource.query('UPDATE image_pull_secrets SET password = ? WHERE id = ?', ['legacy-clear-Passw0rd', legacy.id]);
    const sealedBefore = (await stored()).filter((row) => row.id !== legacy.id);

    const report = await resealPasswords(app.dataSource, new PasswordCipher(OLD_KEY), { clearOnly: true });
    expect(report.resealed).toBe(1);
    const after = await stored();
    const row = after.find((r) => r.id === legacy.id);
    expect(row?.password).not.toContain('legacy-clear');
    expect(new PasswordCipher(OLD_KEY).open(legacy.id, row?.password ?? '')).toBe('legacy-clear-Passw0rd');
    expect(after.filter((r) => r.id !== legacy.id)).toEqual(sealedBefore);
  });
});

describe('PasswordCipher', () => {
  const cipher = new PasswordCipher(OLD_KEY);

  it('seals the same password differently each time', () => {
    expect(cipher.seal('id-1', 'pw')).not.toBe(cipher.seal('id-1', 'pw'));
  });

  it('does not open a sealed password copied onto another secret', () => {
    expect(() => cipher.open('id-2', cipher.seal('id-1', 'pw'))).toThrow(/does not authenticate/);
  });

  it('detects a tampered envelope', () => {
    const parts = cipher.seal('id-1', 'password').split('.');
    const body = Buffer.from(parts[4], 'base64url');
    body[0] ^= 1;
    parts[4] = body.toString('base64url');
    expect(() => cipher.open('id-1', parts.join('.'))).toThrow(/does not authenticate/);
  });
});
