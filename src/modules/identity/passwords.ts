import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { COMMON_PASSWORDS } from './common-passwords.ts';

/** argon2id parameters (OWASP / ASVS 5 Appendix C: m=19456 KiB, t=2, p=1). */
const ARGON2_PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

const PASSWORD_MIN_LENGTH = 8;
const PASSWORD_MAX_LENGTH = 128;

export async function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMS);
}

export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

/** True when the stored hash is weaker than today's parameters (rehash at the next successful login). */
export function needsRehash(phc: string): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (!match) return true;
  const [, m, t, p] = match.map(Number);
  return (
    (m ?? 0) < ARGON2_PARAMS.memoryCost ||
    (t ?? 0) < ARGON2_PARAMS.timeCost ||
    (p ?? 0) !== ARGON2_PARAMS.parallelism
  );
}

/**
 * A hash of a random password, verified for unknown usernames so that answering "no such user" takes as
 * long as "wrong password" (no user enumeration by timing).
 */
let dummyHash: Promise<string> | undefined;
export function timingDummyHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(24).toString('base64url'));
  return dummyHash;
}

/**
 * ASVS password rules: at least 8 characters (by code point), at most 128, no composition rules, no
 * truncation, and not one of the commonly used passwords. Returns a message, or undefined when fine.
 */
export function passwordProblem(password: string, username?: string): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH)
    return `The password must have at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (length > PASSWORD_MAX_LENGTH)
    return `The password must have at most ${PASSWORD_MAX_LENGTH} characters.`;
  const lowered = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered)) return 'This password is too common; choose another one.';
  if (username && lowered === username.toLowerCase()) return 'The password must not be the username.';
  return undefined;
}
