import { readCheckInputs, recordCheck } from '../src/images/image-availability.store';
import { PasswordCipher } from '../src/pull-secrets/password-cipher';
import type { ReferenceCheck } from '../src/registry/registry-checks';
import { createImage, createPullSecret } from './helpers/factories';
import { startTestApp, TEST_SECRETS_KEY, TestApp } from './helpers/test-app';
import { onMysql } from './helpers/test-database';

// Row locks make the race real only on MySQL/MariaDB; SQLite runs one transaction at a time.
(onMysql() ? describe : describe.skip)('storing a registry check (MariaDB/MySQL only)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  const result = (reference: string): ReferenceCheck => ({
    reference,
    state: 'AVAILABLE',
    digest: `sha256:${'e'.repeat(64)}`,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    platforms: [],
    compressedSize: 1,
    message: 'The registry has it',
    checkedAt: new Date().toISOString(),
  });

  it('waits for a secret update that has not committed yet, and then does not store a result made with the old credentials', async () => {
    const secret = await createPullSecret(app);
    const image = await createImage(app, { url: 'registry.example.com:5000/team/app:1', pullSecretId: secret.id });
    const cipher = new PasswordCipher(Buffer.from(TEST_SECRETS_KEY, 'base64'));
    const inputs = await readCheckInputs(app.dataSource, cipher, image.id);
    expect(inputs?.secret?.password).toBe('s3cret-Passw0rd');

    // The secret's update is under way in another transaction while the check comes back.
    const update = app.dataSource.createQueryRunner();
    await update.connect();
    await update.startTransaction();
    await update.query('UPDATE image_pull_secrets SET updatedAt = ? WHERE id = ?', [new Date(Date.now() + 1_000), secret.id]);
    let settled = false;
    const storing = recordCheck(app.dataSource, inputs!, { url: result(image.url), urlForGpu: null }, 'test').finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    await update.commitTransaction();
    await update.release();

    expect(await storing).toBe(false);
    expect(await app.rowCount('image_availability', 'imageId = ?', [image.id])).toBe(0);
  });

  it('stores the result when nothing changed meanwhile', async () => {
    const secret = await createPullSecret(app);
    const image = await createImage(app, { url: 'registry.example.com:5000/team/app:2', pullSecretId: secret.id });
    const inputs = await readCheckInputs(app.dataSource, new PasswordCipher(Buffer.from(TEST_SECRETS_KEY, 'base64')), image.id);
    expect(await recordCheck(app.dataSource, inputs!, { url: result(image.url), urlForGpu: null }, 'test')).toBe(true);
    expect(await app.rowCount('image_availability', "imageId = ? AND state = 'AVAILABLE'", [image.id])).toBe(1);
  });
});
