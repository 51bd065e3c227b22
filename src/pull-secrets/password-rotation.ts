import { DataSource } from 'typeorm';
import { inTransaction } from '../db/transaction';
import type { Logger } from '../observability/logger';
import { ImagePullSecret } from './image-pull-secret.entity';
import { isSealed, PasswordCipher, SealedPasswordError } from './password-cipher';
import { isSqlite } from '../db/dialect';

export interface ResealReport {
  resealed: number;
  unchanged: number;
  /** Names of secrets whose password no configured key opens (only with `skipUnreadable`). */
  unreadable: string[];
}

export class ResealError extends Error {}

/**
 * Seals every password under the current key: passwords under the previous key are reopened and
 * sealed again; passwords kept in clear by versions before sealing are sealed. One transaction,
 * and the rows stay locked until it commits, so a password changed meanwhile is not overwritten
 * with its old value. A password no key opens stops the run and nothing is written (`npm run
 * secrets:rotate`); with `skipUnreadable` (at start) it is left as it is and reported instead.
 */
export async function resealPasswords(dataSource: DataSource, cipher: PasswordCipher, options: { skipUnreadable?: boolean } = {}): Promise<ResealReport> {
  return inTransaction(dataSource, async (m) => {
    let query = m.createQueryBuilder(ImagePullSecret, 'secret').select(['secret.id', 'secret.name']).addSelect('secret.password').orderBy('secret.name', 'ASC');
    // SQLite has no row locks; its write transaction already excludes other writers.
    if (!isSqlite(dataSource)) query = query.setLock('pessimistic_write');
    const rows = await query.getMany();
    let resealed = 0;
    const unreadable: string[] = [];
    for (const row of rows) {
      const stored = row.password ?? '';
      if (isSealed(stored) && cipher.isSealedWithCurrentKey(stored)) continue;
      let password: string;
      try {
        password = isSealed(stored) ? cipher.open(row.id, stored) : stored;
      } catch (error) {
        if (!(error instanceof SealedPasswordError)) throw error;
        if (options.skipUnreadable) {
          unreadable.push(row.name);
          continue;
        }
        throw new ResealError(`image pull secret "${row.name}": ${error.message}; nothing was changed`);
      }
      await m.update(ImagePullSecret, { id: row.id }, { password: cipher.seal(row.id, password) });
      resealed++;
    }
    return { resealed, unchanged: rows.length - resealed - unreadable.length, unreadable };
  });
}

/**
 * At start: passwords kept in clear by an earlier version, or sealed under SECRETS_KEY_PREVIOUS by
 * an instance that ran before the rotation (or during the rollout), move to the current key. A
 * password no key opens is reported rather than stopping the service: only its pull secret is
 * affected.
 */
export async function sealPasswordsAtStart(dataSource: DataSource, cipher: PasswordCipher, logger: Logger): Promise<void> {
  const { resealed, unreadable } = await resealPasswords(dataSource, cipher, { skipUnreadable: true });
  if (resealed > 0) logger.info({ resealed }, 'sealed registry passwords under the current SECRETS_KEY');
  if (unreadable.length > 0) {
    logger.error({ secrets: unreadable }, 'registry passwords that neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS opens: dockerConfigJson fails for these secrets');
  }
}
