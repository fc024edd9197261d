import { createHmac } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { safeEqualHex } from '../../lib/hash.ts';

/** Why a form post was refused: it came from another site, or it lacks the form's token. */
export type FormRefusal = 'crossSite' | 'token';

/** The name of the hidden field that carries the form token in every form. */
export const CSRF_FIELD = 'csrf';

/**
 * A form token derived from what it is bound to (an interaction id, a cookie nonce) with HMAC-SHA-256: no
 * state to keep, and useless for any other binding. Sessions carry a random token instead (`Session.csrf`).
 */
export function boundToken(key: Buffer, binding: string): string {
  return createHmac('sha256', key).update(binding).digest('base64url');
}

/**
 * The one refusal rule for every browser form post (`/auth` pages, `/portal`, `/demo/`), checked before the
 * form is read:
 * 1. the browser says the post comes from another site: `Sec-Fetch-Site` other than `same-origin`, or an
 *    `Origin` other than ours — `Origin: null` included (our pages send `Referrer-Policy: same-origin`, so a
 *    post from them always carries our origin; `null` comes from sandboxes, `data:` pages and cross-site
 *    redirects). This holds even with a valid token.
 * 2. the form's token is missing or is not the one bound to the session or interaction (constant-time).
 * Clients that send neither header (old browsers, scripts) still need the token.
 */
export function refuseFormPost(
  request: FastifyRequest,
  rule: { origin: string; expected: string | undefined },
): FormRefusal | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return 'crossSite';
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== rule.origin) return 'crossSite';
  const presented = (request.body as Record<string, unknown> | null | undefined)?.[CSRF_FIELD];
  if (typeof presented !== 'string' || rule.expected === undefined) return 'token';
  return safeEqualHex(presented, rule.expected) ? undefined : 'token';
}
