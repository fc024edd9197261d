import type { ProblemTypeName } from '../../errors/index.ts';
import type { SecurityAlternative } from './compiled-api.ts';

/** Every reason the gateway refuses a request, as data (logged, metered, never shown). */
export type Refusal =
  | 'preAuthThrottled'
  | 'keyMissing'
  | 'keyInvalid'
  | 'keyNotActive'
  | 'notSubscribed'
  | 'originNotAllowed'
  | 'tokenMissing'
  | 'tokenInvalid'
  | 'tokenExpired'
  | 'tokenRevoked'
  | 'tokenKeyBound'
  | 'wrongClient'
  | 'insufficientScope'
  | 'rateLimited'
  | 'notEntitled'
  /** DESIGN.md §5.2: the change log is stale or a store failed; no verdict can be given. */
  | 'stateUnavailable';

export const REALM = 'strongroom';

interface Answer {
  type: ProblemTypeName;
  detail: string;
  remediation?: string;
  challenge?: (alternative: SecurityAlternative | undefined) => string;
}

const apiKeyChallenge = () => `APIKey realm="${REALM}"`;
const invalidTokenChallenge = () => `Bearer realm="${REALM}", error="invalid_token"`;
/** Algorithms of DPoP proofs the gateway will accept (DESIGN.md §5.6). */
export const DPOP_ALGORITHMS = 'ES256 PS256';

/** The detail of every "does not exist or not yours" 404, so both read byte for byte the same. */
export const NOT_FOUND_DETAIL = 'The requested resource does not exist.';

/**
 * DESIGN.md §1 as one table: refusal reason → problem type, detail and challenge. Reasons that must
 * answer identically (row 2: unknown, malformed, expired, revoked keys; row 8: not entitled, missing)
 * are folded into one reason before they get here.
 */
export const ANSWERS: Record<Refusal, Answer> = {
  preAuthThrottled: {
    type: 'tooManyRequests',
    detail: 'Too many failed authentication attempts from this address.',
    remediation: 'Wait for the time given in Retry-After before trying again.',
  },
  keyMissing: {
    type: 'unauthorized',
    detail: 'This operation needs an API key in the API-Key header.',
    challenge: apiKeyChallenge,
  },
  keyInvalid: {
    type: 'unauthorized',
    detail: 'The API key is not valid.',
    remediation: 'Check the key in the developer portal, or create a new one.',
    challenge: apiKeyChallenge,
  },
  keyNotActive: {
    type: 'forbidden',
    detail: 'The API key or its application is not active.',
    remediation: 'The institution must approve or reinstate the key or application.',
  },
  notSubscribed: {
    type: 'forbidden',
    detail: 'The application is not subscribed to this API.',
  },
  originNotAllowed: {
    type: 'forbidden',
    detail: 'This origin is not registered for the application.',
    remediation: 'Register the web origin on the application in the developer portal.',
  },
  tokenMissing: {
    type: 'unauthorized',
    detail: 'This operation needs an access token in the Authorization header.',
    challenge: (alternative) =>
      alternative?.scopeText
        ? `Bearer realm="${REALM}", scope="${alternative.scopeText}"`
        : `Bearer realm="${REALM}"`,
  },
  tokenInvalid: {
    type: 'unauthorized',
    detail: 'The access token is not valid.',
    challenge: invalidTokenChallenge,
  },
  tokenRevoked: {
    type: 'unauthorized',
    detail: 'The access token is not valid.',
    challenge: invalidTokenChallenge,
  },
  tokenKeyBound: {
    type: 'unauthorized',
    detail: 'The access token is bound to a key and needs a proof of it.',
    challenge: () => `DPoP realm="${REALM}", error="invalid_token", algs="${DPOP_ALGORITHMS}"`,
  },
  tokenExpired: {
    type: 'sessionExpired',
    detail: 'The access token has expired.',
    remediation: 'Refresh the access token, or sign in again.',
    challenge: invalidTokenChallenge,
  },
  wrongClient: {
    type: 'forbidden',
    detail: 'The access token was issued to a different application than the API key identifies.',
  },
  insufficientScope: {
    type: 'forbidden',
    detail: 'The access token lacks a scope this operation requires.',
    challenge: (alternative) =>
      `Bearer realm="${REALM}", error="insufficient_scope", scope="${alternative?.scopeText ?? ''}"`,
  },
  rateLimited: {
    type: 'tooManyRequests',
    detail: "The application's rate limit is exhausted.",
    remediation: 'Wait for the time given in Retry-After, or ask the institution for a larger plan.',
  },
  notEntitled: { type: 'notFound', detail: NOT_FOUND_DETAIL },
  stateUnavailable: {
    type: 'serviceUnavailable',
    detail: 'The request cannot be decided right now.',
    remediation: 'Retry after the seconds given in Retry-After.',
  },
};
