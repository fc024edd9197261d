import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { sha256Hex } from '../../lib/hash.ts';
import { randomBase62 } from '../../lib/ids.ts';

/**
 * API key format, designed so secret scanners can recognise a leaked key and tell it from noise:
 *
 *   srk_live_<id: 20 base62>_<secret: 32 base62><checksum: 6 base62>
 *
 * - `srk_` (Strongroom key) and `live`/`test` (production/sandbox) make it recognisable;
 * - the id part is the key's row id without its `key_` prefix, so verification is a point lookup and
 *   the hash comparison happens once, in constant time;
 * - 32 base62 characters carry ~190 bits of secret (≥ 128 required);
 * - the checksum is CRC-32 of everything before it, so a scanner (or the verifier, before any lookup)
 *   can reject typos and random strings without asking the server.
 *
 * Regular expression for scanners: `\bsrk_(live|test)_[0-9A-Za-z]{20}_[0-9A-Za-z]{38}\b`.
 */
export const KEY_PATTERN = /^srk_(live|test)_([0-9A-Za-z]{20})_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;
/** Every key has exactly this many characters. */
export const KEY_LENGTH = 68;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_ID_PREFIX = 'key_';

interface GeneratedKey {
  /** Row id, `key_<20 base62>`. */
  id: string;
  /** The full key: shown once, never stored. */
  key: string;
  /** Visible prefix stored for display (`srk_live_<id>_`). */
  prefix: string;
  last4: string;
  /** SHA-256 (hex) of the full key. */
  hash: string;
}

function base62Fixed(value: number, length: number): string {
  let out = '';
  let n = value >>> 0;
  for (let i = 0; i < length; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function checksum(body: string): string {
  return base62Fixed(crc32(body), 6);
}

export function generateKey(environment: 'sandbox' | 'production'): GeneratedKey {
  return composeKey(environment, randomBase62(20), randomBase62(32));
}

/** Assemble a key from its parts (with its checksum). */
export function composeKey(
  environment: 'sandbox' | 'production',
  idPart: string,
  secret: string,
): GeneratedKey {
  const prefix = `srk_${environment === 'production' ? 'live' : 'test'}_${idPart}_`;
  const body = `${prefix}${secret}`;
  const key = `${body}${checksum(body)}`;
  return { id: `${KEY_ID_PREFIX}${idPart}`, key, prefix, last4: key.slice(-4), hash: hashKey(key) };
}

type ParsedKey = { ok: true; id: string } | { ok: false };

/** Syntax and checksum only; says nothing about whether the key exists. */
export function parseKey(presented: string): ParsedKey {
  if (presented.length !== KEY_LENGTH) return { ok: false };
  const match = KEY_PATTERN.exec(presented);
  if (!match) return { ok: false };
  const [, , idPart, secret, sum] = match;
  if (checksum(presented.slice(0, -6)) !== sum || !secret) return { ok: false };
  return { ok: true, id: `${KEY_ID_PREFIX}${idPart}` };
}

export function hashKey(key: string): string {
  return sha256Hex(key);
}

/** SHA-256 of a key as bytes (the verifier's hot path compares bytes, no hex round trip). */
export function hashKeyBytes(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
