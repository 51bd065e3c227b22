import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const FORMAT = 'v1';
const IV_BYTES = 12;

export class SealedPasswordError extends Error {}

/**
 * Seals registry passwords with AES-256-GCM. A sealed value reads
 * `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url parts): the key id (a fingerprint, not the
 * key) tells which key opens it, so a rotation can tell old from new. The secret's id is the
 * additional authenticated data, so a sealed value copied onto another secret does not open.
 */
export class PasswordCipher {
  private readonly keys = new Map<string, Buffer>();
  private readonly currentId: string;

  constructor(current: Buffer, previous?: Buffer) {
    this.currentId = keyId(current);
    this.keys.set(this.currentId, current);
    if (previous) this.keys.set(keyId(previous), previous);
  }

  seal(secretId: string, password: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentId) as Buffer, iv);
    cipher.setAAD(Buffer.from(secretId));
    const ciphertext = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
    return [FORMAT, this.currentId, iv, cipher.getAuthTag(), ciphertext].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  /** Throws SealedPasswordError (which never quotes the value) when no known key opens it. */
  open(secretId: string, sealed: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== FORMAT) throw new SealedPasswordError('not a sealed password');
    const key = this.keys.get(parts[1]);
    if (!key) throw new SealedPasswordError('sealed with a key that is neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS');
    const [iv, tag, ciphertext] = parts.slice(2).map((p) => Buffer.from(p, 'base64url'));
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(secretId));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedPasswordError('the sealed password does not authenticate');
    }
  }

  isSealedWithCurrentKey(sealed: string): boolean {
    return sealed.startsWith(`${FORMAT}.${this.currentId}.`);
  }
}

export function isSealed(value: string): boolean {
  return value.startsWith(`${FORMAT}.`) && value.split('.').length === 5;
}

function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('image-catalog secrets key id').digest('base64url').slice(0, 11);
}
