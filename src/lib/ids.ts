import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A random base62 string of exactly `length` characters (rejection sampling, no modulo bias).
 * 22 characters carry ~131 bits.
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const byte = nextRandomByte();
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}

// Random bytes are drawn from a pool refilled 4 KiB at a time: one CSPRNG call per ~200 ids instead of
// one per id (request ids are generated on every request's hot path).
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let poolOffset = 0;

function nextRandomByte(): number {
  if (poolOffset >= POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  return pool[poolOffset++] as number;
}

/**
 * A prefixed opaque id such as `app_4hQ…`: the prefix names the kind for humans and log readers,
 * the rest is 20 random base62 characters. Always the same length for a given prefix.
 */
export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(20)}`;
}

/** Request/correlation id; fixed length so identical refusals have identical Content-Length. */
export function newRequestId(): string {
  return `req_${randomBase62(20)}`;
}

/** Opaque ids in API paths: at most 64 characters of `[A-Za-z0-9_-]` (DESIGN.md §4). */
export const OPAQUE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isOpaqueId(value: unknown): value is string {
  return typeof value === 'string' && OPAQUE_ID_PATTERN.test(value);
}
