import { createGroup, createImage, createPullSecret, ImageData } from './helpers/factories';
import { DELETE_IMAGE, GROUP_BY_ID, IMAGE_BY_ID, UPDATE_IMAGE } from './helpers/operations';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

async function update(id: string, input: Record<string, unknown>): Promise<ImageData> {
  return (await app.ok<{ updateImage: ImageData }>(UPDATE_IMAGE, { id, input })).updateImage;
}

async function reload(id: string): Promise<ImageData> {
  return (await app.ok<{ image: ImageData }>(IMAGE_BY_ID, { id })).image;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('updateImage', () => {
  it('changes only the fields it is given and increases the version', async () => {
    const image = await createImage(app, { displayName: 'Before', description: 'keep me', global: true });
    await sleep(5);
    const updated = await update(image.id, { displayName: 'After' });
    expect(updated).toMatchObject({ ...image, displayName: 'After', version: 2, updatedAt: expect.any(String) });
    expect(updated.updatedAt > image.updatedAt).toBe(true);
    expect(updated.createdAt).toBe(image.createdAt);
    expect(await reload(image.id)).toEqual(updated);
  });

  it('clears description, urlForGpu and pullSecretId on an explicit null', async () => {
    const secret = await createPullSecret(app);
    const image = await createImage(app, { description: 'text', urlForGpu: 'busybox:gpu', pullSecretId: secret.id });
    const updated = await update(image.id, { description: null, urlForGpu: null, pullSecretId: null });
    expect(updated).toMatchObject({ description: null, urlForGpu: null, pullSecret: null, gpuUrl: image.url, version: 2 });
    expect(await app.rowCount('images', 'id = ? AND pullSecretId IS NULL AND urlForGpu IS NULL AND description IS NULL', [image.id])).toBe(1);
  });

  it.each(['displayName', 'type', 'url', 'global'])('refuses null for the required field %s and changes nothing', async (field) => {
    const image = await createImage(app);
    const error = await app.fails(UPDATE_IMAGE, { id: image.id, input: { [field]: null, description: 'changed' } });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field, message: `${field} cannot be null` }] });
    expect(await reload(image.id)).toEqual(image);
  });

  it('resets a blank displayName to the name', async () => {
    const image = await createImage(app, { displayName: 'Pretty' });
    expect((await update(image.id, { displayName: '  ' })).displayName).toBe(image.name);
  });

  it('validates every given field as createImage does', async () => {
    const image = await createImage(app);
    const error = await app.fails(UPDATE_IMAGE, {
      id: image.id,
      input: { url: 'Not A Reference', displayName: 'x'.repeat(101), description: 'y'.repeat(2001) },
    });
    expect(error.extensions?.fields?.map((f) => f.field).sort()).toEqual(['description', 'displayName', 'url']);
    expect(await reload(image.id)).toEqual(image);
  });

  it('clears urlForGpu when the type changes from UNIVERSAL to CPU', async () => {
    const image = await createImage(app, { type: 'UNIVERSAL', urlForGpu: 'busybox:gpu' });
    const updated = await update(image.id, { type: 'CPU' });
    expect(updated).toMatchObject({ type: 'CPU', urlForGpu: null, gpuUrl: image.url });
    expect(await app.rowCount('images', 'id = ? AND urlForGpu IS NULL', [image.id])).toBe(1);
  });

  it('clears urlForGpu when the type changes from UNIVERSAL to GPU', async () => {
    const image = await createImage(app, { urlForGpu: 'busybox:gpu' });
    expect(await update(image.id, { type: 'GPU' })).toMatchObject({ type: 'GPU', urlForGpu: null });
  });

  it('refuses a urlForGpu given together with a change to CPU, and changes nothing', async () => {
    const image = await createImage(app, { urlForGpu: 'busybox:gpu' });
    const error = await app.fails(UPDATE_IMAGE, { id: image.id, input: { type: 'CPU', urlForGpu: 'busybox:other' } });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'urlForGpu', message: expect.any(String) }] });
    expect(await reload(image.id)).toEqual(image);
  });

  it('refuses a urlForGpu for an image that is already GPU', async () => {
    const image = await createImage(app, { type: 'GPU' });
    const error = await app.fails(UPDATE_IMAGE, { id: image.id, input: { urlForGpu: 'busybox:gpu' } });
    expect(error.extensions?.fields?.[0].field).toBe('urlForGpu');
  });

  it('sets a urlForGpu when the type changes to UNIVERSAL in the same call', async () => {
    const image = await createImage(app, { type: 'CPU' });
    expect(await update(image.id, { type: 'UNIVERSAL', urlForGpu: 'busybox:gpu' })).toMatchObject({
      type: 'UNIVERSAL',
      urlForGpu: 'busybox:gpu',
      gpuUrl: 'busybox:gpu',
    });
  });

  it('sets and changes the pull secret, refusing an unknown one', async () => {
    const [s1, s2] = [await createPullSecret(app), await createPullSecret(app)];
    const image = await createImage(app, { pullSecretId: s1.id });
    expect((await update(image.id, { pullSecretId: s2.id })).pullSecret?.id).toBe(s2.id);
    const error = await app.fails(UPDATE_IMAGE, { id: image.id, input: { pullSecretId: 'ghost' } });
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'pullSecretId' });
    expect((await reload(image.id)).pullSecret?.id).toBe(s2.id);
  });

  it('leaves the version alone when nothing changes', async () => {
    const image = await createImage(app, { displayName: 'Same' });
    const updated = await update(image.id, { displayName: 'Same', url: image.url });
    expect(updated.version).toBe(1);
    expect(updated.updatedAt).toBe(image.updatedAt);
  });

  it('applies an update whose expectedVersion matches', async () => {
    const image = await createImage(app);
    const updated = await update(image.id, { description: 'v2', expectedVersion: 1 });
    expect(updated.version).toBe(2);
    expect((await update(image.id, { description: 'v3', expectedVersion: 2 })).version).toBe(3);
  });

  it('fails with CONFLICT and changes nothing when expectedVersion is stale', async () => {
    const image = await createImage(app);
    await update(image.id, { description: 'first' });
    const error = await app.fails(UPDATE_IMAGE, { id: image.id, input: { description: 'second', expectedVersion: 1 } });
    expect(error.extensions).toMatchObject({ code: 'CONFLICT', field: 'expectedVersion', actualVersion: 2 });
    const stored = await reload(image.id);
    expect(stored).toMatchObject({ description: 'first', version: 2 });
  });

  it('fails with NOT_FOUND for an unknown id', async () => {
    const error = await app.fails(UPDATE_IMAGE, { id: 'no-such-image', input: { description: 'x' } });
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id', ids: ['no-such-image'] });
  });

  it('cannot rename an image: the input has no name', async () => {
    const image = await createImage(app);
    const error = await app.fails(UPDATE_IMAGE, { id: image.id, input: { name: 'renamed' } });
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await reload(image.id)).name).toBe(image.name);
  });
});

describe('deleteImage', () => {
  it('deletes the image and its group links but not the groups', async () => {
    const group = await createGroup(app);
    const image = await createImage(app, { groupIds: [group.id] });
    const data = await app.ok<{ deleteImage: string }>(DELETE_IMAGE, { id: image.id });
    expect(data.deleteImage).toBe(image.id);
    expect((await app.ok<{ image: null }>(IMAGE_BY_ID, { id: image.id })).image).toBeNull();
    expect(await app.rowCount('image_group_links', 'imageId = ?', [image.id])).toBe(0);
    const groupAfter = await app.ok<{ group: { images: unknown[] } }>(GROUP_BY_ID, { id: group.id });
    expect(groupAfter.group.images).toEqual([]);
  });

  it('fails with NOT_FOUND for an unknown id', async () => {
    const error = await app.fails(DELETE_IMAGE, { id: 'no-such-image' });
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
  });
});
