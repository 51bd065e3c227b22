import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PasswordCipher } from '../src/pull-secrets/password-cipher';
import { resealPasswords } from '../src/pull-secrets/password-rotation';
import { createConnection } from 'mysql2/promise';
import { parseDatabaseUrl } from '../src/config';
import { createPullSecret } from './helpers/factories';
import { startServiceProcess } from './helpers/service-process';
import { onMysql } from './helpers/test-database';
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

/** Runs the CLI without blocking: the test's own server must keep answering meanwhile. */
async function rotate(env: Record<string, string>): Promise<{ status: number; output: string }> {
  const script = join(__dirname, '..', 'src', 'cli', 'rotate-secrets.ts');
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['-r', 'ts-node/register/transpile-only', script], {
      env: { ...process.env, DATABASE_URL: app.databaseUrl, NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32), ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
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

    const run = await rotate({ SECRETS_KEY: NEW_KEY.toString('base64'), SECRETS_KEY_PREVIOUS: OLD_KEY.toString('base64') });
    expect(run).toMatchObject({ status: 0 });
    expect(run.output).toContain(`${before.length} password(s) sealed under the current key`);

    const fresh = new PasswordCipher(NEW_KEY);
    for (const row of await stored()) {
      expect(fresh.isSealedWithCurrentKey(row.password)).toBe(true);
      expect(fresh.open(row.id, row.password)).toBe(clear.get(row.id));
      expect(() => old.open(row.id, row.password)).toThrow(/neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS/);
    }
    const again = await rotate({ SECRETS_KEY: NEW_KEY.toString('base64'), SECRETS_KEY_PREVIOUS: OLD_KEY.toString('base64') });
    expect(again.output).toContain(`0 password(s) sealed under the current key, ${before.length} already were`);

    // Back to the key the running test app uses, through the same path.
    expect((await rotate({ SECRETS_KEY: OLD_KEY.toString('base64'), SECRETS_KEY_PREVIOUS: NEW_KEY.toString('base64') })).status).toBe(0);
  });

  it('stops a rotation that meets a password no key opens, naming the secret and changing nothing', async () => {
    const stranger = await createPullSecret(app);
    const foreign = new PasswordCipher(UNKNOWN_KEY).seal(stranger.id, 'foreign-Passw0rd');
    await app.dataSource.query('UPDATE image_pull_secrets SET password = ? WHERE id = ?', [foreign, stranger.id]);
    const before = await stored();

    const run = await rotate({ SECRETS_KEY: NEW_KEY.toString('base64'), SECRETS_KEY_PREVIOUS: OLD_KEY.toString('base64') });
    expect(run.status).toBe(1);
    expect(run.output).toContain(`image pull secret "${stranger.name}"`);
    expect(run.output).toContain('nothing was changed');
    expect(run.output).not.toContain('foreign-Passw0rd');
    expect(await stored()).toEqual(before);
    await app.ok(`mutation { deleteImagePullSecret(id: "${stranger.id}") }`);
  });

  it('refuses to rotate in production without SECRETS_KEY, or with a malformed one', async () => {
    const missing = await rotate({ SECRETS_KEY: '' });
    expect(missing.status).toBe(1);
    expect(missing.output).toContain('NODE_ENV=production needs SECRETS_KEY');
    const malformed = await rotate({ SECRETS_KEY: 'too-short' });
    expect(malformed.status).toBe(1);
    expect(malformed.output).toContain('SECRETS_KEY must be 32 bytes in base64');
  });

  it('seals passwords an earlier version stored in clear, at start, leaving sealed ones alone', async () => {
    const legacy = await createPullSecret(app);
    await app.dataSource.query('UPDATE image_pull_secrets SET password = ? WHERE id = ?', ['legacy-clear-Passw0rd', legacy.id]);
    const sealedBefore = (await stored()).filter((row) => row.id !== legacy.id);

    const report = await resealPasswords(app.dataSource, new PasswordCipher(OLD_KEY), { skipUnreadable: true });
    expect(report).toEqual({ resealed: 1, unchanged: sealedBefore.length, unreadable: [] });
    const after = await stored();
    const row = after.find((r) => r.id === legacy.id);
    expect(row?.password).not.toContain('legacy-clear');
    expect(new PasswordCipher(OLD_KEY).open(legacy.id, row?.password ?? '')).toBe('legacy-clear-Passw0rd');
    expect(after.filter((r) => r.id !== legacy.id)).toEqual(sealedBefore);
  });

  it('moves passwords written under the previous key during a rollout to the new key at start, and reports the ones no key opens', async () => {
    // An instance still on the old key wrote these while new instances were rolling out.
    const written = await createPullSecret(app, { password: 'written-under-old-Passw0rd' });
    const foreign = await createPullSecret(app);
    await app.dataSource.query('UPDATE image_pull_secrets SET password = ? WHERE id = ?', [new PasswordCipher(UNKNOWN_KEY).seal(foreign.id, 'x'), foreign.id]);
    const total = (await stored()).length;

    const report = await resealPasswords(app.dataSource, new PasswordCipher(NEW_KEY, OLD_KEY), { skipUnreadable: true });
    expect(report).toEqual({ resealed: total - 1, unchanged: 0, unreadable: [foreign.name] });
    const fresh = new PasswordCipher(NEW_KEY);
    const rows = await stored();
    expect(fresh.open(written.id, rows.find((r) => r.id === written.id)?.password ?? '')).toBe('written-under-old-Passw0rd');
    for (const row of rows.filter((r) => r.id !== foreign.id)) expect(fresh.isSealedWithCurrentKey(row.password)).toBe(true);

    // Back to the key the running test app uses.
    await app.ok(`mutation { deleteImagePullSecret(id: "${foreign.id}") }`);
    expect(await resealPasswords(app.dataSource, new PasswordCipher(OLD_KEY, NEW_KEY))).toMatchObject({ unreadable: [] });
  });
});

describe('registry passwords across a rotation', () => {
  it('are moved to the new key when an instance starts with it, and the ones no key opens are named in the log', async () => {
    const written = await createPullSecret(app, { password: 'before-the-rollout-Passw0rd' });
    const foreign = await createPullSecret(app);
    await app.dataSource.query('UPDATE image_pull_secrets SET password = ? WHERE id = ?', [new PasswordCipher(UNKNOWN_KEY).seal(foreign.id, 'x'), foreign.id]);

    const service = await startServiceProcess(
      { DATABASE_URL: app.databaseUrl, NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32), SECRETS_KEY: NEW_KEY.toString('base64'), SECRETS_KEY_PREVIOUS: OLD_KEY.toString('base64') },
      [/registry passwords that neither/],
    );
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const lines = service.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const total = (await stored()).length;
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'sealed registry passwords under the current SECRETS_KEY', resealed: total - 1 }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', secrets: [foreign.name] }));
    const row = (await stored()).find((r) => r.id === written.id);
    expect(new PasswordCipher(NEW_KEY).open(written.id, row?.password ?? '')).toBe('before-the-rollout-Passw0rd');

    await app.ok(`mutation { deleteImagePullSecret(id: "${foreign.id}") }`);
    await resealPasswords(app.dataSource, new PasswordCipher(OLD_KEY, NEW_KEY));
  }, 30_000);

  // SQLite lets one writer in at a time anyway; MariaDB's reads would not wait without the lock.
  (onMysql() ? it : it.skip)('does not overwrite a password changed while the rotation runs', async () => {
    const secret = await createPullSecret(app, { password: 'old-Passw0rd' });
    const config = parseDatabaseUrl(app.databaseUrl);
    if (config.kind !== 'mysql') throw new Error('needs MySQL');
    const options = { host: config.host, port: config.port, user: config.username, password: config.password, database: config.database };
    const writer = await createConnection(options);
    const observer = await createConnection(options);
    try {
      // An update of the password, not yet committed, when the rotation starts reading.
      await writer.query('BEGIN');
      await writer.query('UPDATE image_pull_secrets SET password = ? WHERE id = ?', [new PasswordCipher(OLD_KEY).seal(secret.id, 'new-Passw0rd'), secret.id]);
      const rotation = resealPasswords(app.dataSource, new PasswordCipher(NEW_KEY, OLD_KEY));
      for (let waiting = 0; waiting === 0; ) {
        const [rows] = await observer.query(
          // A statement of the rotation's on the table, still running: waiting for the writer.
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Query' AND ID <> CONNECTION_ID() AND INFO LIKE '%image_pull_secrets%'",
          [config.database],
        );
        waiting = Number((rows as { n: number }[])[0].n);
        if (waiting === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await writer.query('COMMIT');
      await rotation;
      const row = (await stored()).find((r) => r.id === secret.id);
      expect(new PasswordCipher(NEW_KEY).open(secret.id, row?.password ?? '')).toBe('new-Passw0rd');
    } finally {
      await writer.end();
      await observer.end();
      await resealPasswords(app.dataSource, new PasswordCipher(OLD_KEY, NEW_KEY));
    }
  }, 30_000);
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
