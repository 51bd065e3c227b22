import { DataSource, EntityManager } from 'typeorm';
import type { AuditChange } from '../audit/audit-event.entity';
import { recordAudit } from '../audit/audit-trail';
import { forUpdate } from '../db/dialect';
import { inTransaction } from '../db/transaction';
import { ImagePullSecret } from '../pull-secrets/image-pull-secret.entity';
import { pullCredentials, PullCredentials } from '../pull-secrets/image-pull-secret.service';
import type { PasswordCipher } from '../pull-secrets/password-cipher';
import { AvailabilityChecks, ImageAvailabilityRecord } from './image-availability.entity';
import { gpuReferenceOf, worstOf } from './image-availability';
import { Image } from './image.entity';

/** What a check is made of, read before any registry is asked (and outside any transaction). */
export interface CheckInputs {
  image: Pick<Image, 'id' | 'name' | 'type' | 'url' | 'urlForGpu' | 'pullSecretId'>;
  secret: PullCredentials | null;
  previous: ImageAvailabilityRecord | null;
}

export async function readCheckInputs(dataSource: DataSource, cipher: PasswordCipher, imageId: string): Promise<CheckInputs | null> {
  const manager = dataSource.manager;
  const image = await manager.findOne(Image, { where: { id: imageId }, select: { id: true, name: true, type: true, url: true, urlForGpu: true, pullSecretId: true } });
  if (!image) return null;
  const [secret, previous] = await Promise.all([
    image.pullSecretId ? pullCredentials(manager, cipher, image.pullSecretId) : null,
    manager.findOneBy(ImageAvailabilityRecord, { imageId }),
  ]);
  return { image, secret, previous };
}

/**
 * Stores a check's result, unless the image, its references or its secret changed while the
 * registry was being asked (that change cleared the old result and queued a check of its own).
 * A change of a known state is audited with the result, in one short transaction.
 */
export async function recordCheck(dataSource: DataSource, inputs: CheckInputs, checks: AvailabilityChecks, actor: string): Promise<boolean> {
  return inTransaction(dataSource, async (m) => {
    const image = await m.findOne(Image, { where: { id: inputs.image.id }, ...forUpdate(m.connection) });
    if (!image || !sameReferences(image, inputs)) return false;
    if (image.pullSecretId && (await lockedSecretUpdatedAt(m, image.pullSecretId)) !== inputs.secret?.updatedAt.getTime()) return false;
    const previous = await m.findOneBy(ImageAvailabilityRecord, { imageId: image.id });
    const gpuUrlState = checks.urlForGpu?.state ?? null;
    const record: ImageAvailabilityRecord = {
      imageId: image.id,
      state: worstOf([checks.url.state, ...(gpuUrlState ? [gpuUrlState] : [])]),
      urlState: checks.url.state,
      gpuUrlState,
      checks,
      checkedAt: new Date(),
    };
    if (previous) await m.update(ImageAvailabilityRecord, { imageId: image.id }, record);
    else await m.insert(ImageAvailabilityRecord, record);
    // Only a change of a known state is an event: the first result after a change was preceded by
    // that change's own event, and would otherwise put a CHECK beside every create.
    const changes: AuditChange[] = [];
    if (previous && previous.urlState !== record.urlState) changes.push({ field: 'availability.url', oldValue: previous.urlState, newValue: record.urlState });
    if (previous?.gpuUrlState && gpuUrlState && previous.gpuUrlState !== gpuUrlState) {
      changes.push({ field: 'availability.urlForGpu', oldValue: previous.gpuUrlState, newValue: gpuUrlState });
    }
    if (changes.length > 0) await recordAudit(m, actor, [{ operation: 'CHECK', entityType: 'IMAGE', entity: image, changes }], record.checkedAt);
    return true;
  });
}

/** Inside an image's or a secret's own transaction: its references or credentials changed. */
export async function forgetAvailability(manager: EntityManager, where: { imageId: string } | { pullSecretId: string }): Promise<void> {
  const query = manager.createQueryBuilder().delete().from(ImageAvailabilityRecord);
  if ('imageId' in where) await query.where('imageId = :imageId', where).execute();
  else await query.where('imageId IN (SELECT id FROM images WHERE pullSecretId = :pullSecretId)', where).execute();
}

/** Images whose last result is older than `before`, or that have none, oldest first. */
export async function imagesDueForCheck(dataSource: DataSource, before: Date, limit: number): Promise<string[]> {
  const rows: { id: string }[] = await dataSource
    .createQueryBuilder()
    .select('image.id', 'id')
    .from(Image, 'image')
    .leftJoin(ImageAvailabilityRecord, 'availability', 'availability.imageId = image.id')
    .where('(availability.imageId IS NULL OR availability.checkedAt <= :before)', { before })
    // NULLs (never checked) sort first on both databases.
    .orderBy('availability.checkedAt', 'ASC')
    .limit(limit)
    .getRawMany();
  return rows.map((row) => row.id);
}

export async function imageIdsUsingSecret(dataSource: DataSource, pullSecretId: string): Promise<string[]> {
  const images = await dataSource.manager.find(Image, { select: { id: true }, where: { pullSecretId } });
  return images.map((image) => image.id);
}

function sameReferences(image: Image, inputs: CheckInputs): boolean {
  return (
    image.url === inputs.image.url &&
    gpuReferenceOf(image) === gpuReferenceOf(inputs.image) &&
    image.pullSecretId === inputs.image.pullSecretId
  );
}

/**
 * Locked, so a secret update that has not committed yet is waited for: read plainly, its old
 * `updatedAt` would let a result made with the old credentials in after the update cleared them.
 */
async function lockedSecretUpdatedAt(manager: EntityManager, id: string): Promise<number | undefined> {
  const secret = await manager.findOne(ImagePullSecret, { where: { id }, select: { id: true, updatedAt: true }, ...forUpdate(manager.connection) });
  return secret?.updatedAt.getTime();
}
