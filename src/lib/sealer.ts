import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Envelope encryption of secrets at rest (signing keys, cookie keys, TOTP secrets) with the
 * key-encryption key (KEK): AES-256-GCM, a fresh 96-bit IV per value, and an optional context string
 * bound as additional data so a sealed value cannot be moved to another row/purpose.
 * Format: `v1.<iv>.<tag>.<ciphertext>` (base64url).
 */
export interface Sealer {
  seal(plaintext: string, context?: string): string;
  open(sealed: string, context?: string): string;
}

export function createSealer(kek: Buffer): Sealer {
  if (kek.length !== 32) throw new Error('the key-encryption key must be 32 bytes');
  return {
    seal(plaintext, context = '') {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', kek, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), ciphertext]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    open(sealed, context = '') {
      const [version, iv, tag, ciphertext] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || ciphertext === undefined) throw new Error('not a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      try {
        return Buffer.concat([
          decipher.update(Buffer.from(ciphertext, 'base64url')),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        // AES-GCM says only "Unsupported state or unable to authenticate data"; say which key is at stake.
        throw new Error(
          'a sealed secret cannot be opened with this key-encryption key (STRONGROOM_KEK, or <data-dir>/kek ' +
            'when it is not set): it was sealed with another key, or altered',
        );
      }
    },
  };
}
