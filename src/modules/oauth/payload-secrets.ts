import { sha256Hex } from '../../lib/hash.ts';

/**
 * What of oidc-provider's artifacts reaches the store (DESIGN.md §5.1 "At rest"): the ids of sessions,
 * interactions, codes, refresh tokens, PAR request URIs… are bearer secrets, so a row is keyed by the
 * id's SHA-256 digest and its payload holds no plaintext copy of it — every copy (`jti`, an interaction's
 * `returnTo`) becomes a marker that is put back on reading, when the caller presents the id. A backup of
 * the store therefore yields no live token, code or session.
 *
 * Grants are the exception: their ids are references (a token's `grant_id`, the denylist, the user's list
 * of authorized applications), useless without a token, and looked up by id in SQL.
 */
const PLAIN_ID_MODELS = new Set(['Grant']);

/** Stands for the row's own id inside a stored payload. */
export const OWN_ID_MARKER = 'urn:strongroom:own-id';

/** The key a model's artifact is stored under. */
export function storedId(model: string, id: string): string {
  return PLAIN_ID_MODELS.has(model) ? id : sha256Hex(id);
}

/** The payload as stored: no copy of its own id, and an interaction's copy of the session id dropped. */
export function concealPayload(model: string, id: string, payload: Record<string, unknown>): string {
  let stored = payload;
  const session = payload.session as Record<string, unknown> | undefined;
  if (model === 'Interaction' && session && 'cookie' in session) {
    // The session cookie's value (oidc-provider copies it for the app; nothing reads it back).
    const { cookie: _cookie, ...rest } = session;
    stored = { ...payload, session: rest };
  }
  const json = JSON.stringify(stored);
  return PLAIN_ID_MODELS.has(model) ? json : json.replaceAll(id, OWN_ID_MARKER);
}

/**
 * A stored payload as oidc-provider wants it back. `id` is the plaintext id when the caller presented it;
 * without it (a session found by its `uid`), the marker is left out rather than guessed.
 */
export function revealPayload(json: string, id: string | undefined): Record<string, unknown> {
  if (id !== undefined) return JSON.parse(json.replaceAll(OWN_ID_MARKER, id)) as Record<string, unknown>;
  const payload = JSON.parse(json) as Record<string, unknown>;
  if (payload.jti === OWN_ID_MARKER) delete payload.jti;
  return payload;
}
