import { DataSource } from 'typeorm';
import { inTransaction } from '../db/transaction';
import { ImagePullSecret } from './image-pull-secret.entity';
import { isSealed, PasswordCipher, SealedPasswordError } from './password-cipher';

export interface ResealReport {
  resealed: number;
  unchanged: number;
}

export class ResealError extends Error {}

/**
 * Seals every password under the current key: passwords under the previous key are reopened and
 * sealed again; passwords kept in clear by versions before sealing are sealed. With `clearOnly`
 * (at start) only those are touched. One transaction: a password no key opens stops the run and
 * nothing is written, so no secret is ever lost.
 */
export async function resealPasswords(dataSource: DataSource, cipher: PasswordCipher, options: { clearOnly?: boolean } = {}): Promise<ResealReport> {
  return inTransaction(dataSource, async (m) => {
    const rows = await m
      .createQueryBuilder(ImagePullSecret, 'secret')
      .select(['secret.id', 'secret.name'])
      .addSelect('secret.password')
      .orderBy('secret.name', 'ASC')
      .getMany();
    let resealed = 0;
    for (const row of rows) {
      const stored = row.password ?? '';
      if (isSealed(stored) && (options.clearOnly || cipher.isSealedWithCurrentKey(stored))) continue;
      let password: string;
      try {
        password = isSealed(stored) ? cipher.open(row.id, stored) : stored;
      } catch (error) {
        if (!(error instanceof SealedPasswordError)) throw error;
        throw new ResealError(`image pull secret "${row.name}": ${error.message}; nothing was changed`);
      }
      await m.update(ImagePullSecret, { id: row.id }, { password: cipher.seal(row.id, password) });
      resealed++;
    }
    return { resealed, unchanged: rows.length - resealed };
  });
}
