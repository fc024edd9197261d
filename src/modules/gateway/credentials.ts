import type { FastifyRequest } from 'fastify';
import type { SecurityAlternative } from './compiled-api.ts';
import type { KeyVerifier, Principal, VerifiedKey } from './contract.ts';
import type { Cors } from './cors.ts';
import type { Refusal } from './refusals.ts';
import type { GatewayState } from './request-state.ts';
import type { TokenVerification, TokenVerifier } from './token-verifier.ts';

const API_KEY_HEADER = 'api-key';
const BEARER = /^bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i;

type KeyCheck = { ok: true; key: VerifiedKey } | { ok: false; reason: Refusal; why: string };
type TokenCheck = TokenVerification | { ok: false; reason: 'tokenMissing'; why: string };

/** The verdict on a request's credentials: the first failing alternative's refusal when none passes. */
export type CredentialOutcome =
  | { ok: true }
  | { ok: false; reason: Refusal; why: string; alternative: SecurityAlternative };

/** Request headers that carry credentials and never reach handlers or upstreams. */
export const CREDENTIAL_HEADERS = new Set([API_KEY_HEADER, 'authorization', 'cookie']);

/**
 * DESIGN.md §1 rows 1–7: the API key (state, subscription, origin), the access token (validity, issued to
 * the key's application, scopes), over the operation's security alternatives. Each credential is verified
 * at most once per request, however many alternatives name it. Verdicts are data, never exceptions.
 */
export function createCredentialChecks(deps: { keys: KeyVerifier; tokens: TokenVerifier; cors: Cors }) {
  const verifyKey = async (request: FastifyRequest): Promise<KeyCheck> => {
    const presented = request.headers[API_KEY_HEADER];
    if (presented === undefined || presented === '')
      return { ok: false, reason: 'keyMissing', why: 'missing' };
    if (typeof presented !== 'string') return { ok: false, reason: 'keyInvalid', why: 'malformed' };
    const result = await deps.keys.verify(presented);
    if (result.ok) {
      deps.cors.learn(result.key);
      return result;
    }
    switch (result.reason) {
      case 'pending':
      case 'suspended':
      case 'applicationPending':
      case 'applicationSuspended':
        return { ok: false, reason: 'keyNotActive', why: result.reason };
      default:
        return { ok: false, reason: 'keyInvalid', why: result.reason };
    }
  };

  const verifyToken = async (request: FastifyRequest): Promise<TokenCheck> => {
    const header = request.headers.authorization;
    if (header === undefined) return { ok: false, reason: 'tokenMissing', why: 'missing' };
    const match = BEARER.exec(header);
    if (!match?.[1]) {
      // Another scheme (Basic, DPoP …) is no bearer token at all; a broken Bearer header is a bad token.
      return /^bearer\b/i.test(header)
        ? { ok: false, reason: 'tokenInvalid', why: 'malformed' }
        : { ok: false, reason: 'tokenMissing', why: 'other scheme' };
    }
    return deps.tokens.verifyCached(match[1]) ?? deps.tokens.verify(match[1]);
  };

  /**
   * Check the request against each alternative in document order; the first that passes wins. Leaves the
   * verified key (even when a later check fails: it is metered and rate-limited) and principal on `state`.
   */
  const authenticate = async (request: FastifyRequest, state: GatewayState): Promise<CredentialOutcome> => {
    const { op } = state;
    let keyResult: KeyCheck | undefined;
    let tokenResult: TokenCheck | undefined;
    let first: CredentialOutcome | undefined;
    for (const alternative of op.security) {
      let refusal: { reason: Refusal; why: string } | undefined;
      let principal: Principal | undefined;
      if (alternative.apiKey) {
        keyResult ??= await verifyKey(request);
        if (!keyResult.ok) refusal = keyResult;
        else {
          const key = keyResult.key;
          state.key = key;
          const origin = request.headers.origin;
          if (key.apis !== '*' && !key.apis.includes(op.api))
            refusal = { reason: 'notSubscribed', why: op.api };
          else if (!deps.cors.permits(key, origin)) {
            refusal = { reason: 'originNotAllowed', why: String(origin).slice(0, 200) };
          }
        }
      }
      if (!refusal && alternative.token) {
        tokenResult ??= await verifyToken(request);
        if (!tokenResult.ok) refusal = tokenResult;
        else {
          principal = tokenResult.principal;
          // Kept even if a later check refuses: abuse detection counts authenticated refusals per grant.
          state.principal = principal;
          if (alternative.apiKey && state.key && principal.clientId !== state.key.clientId) {
            refusal = { reason: 'wrongClient', why: principal.clientId };
          } else {
            const missing = alternative.scopes.find((scope) => !principal?.scopes.has(scope));
            if (missing !== undefined) refusal = { reason: 'insufficientScope', why: missing };
          }
        }
      }
      if (!refusal) {
        state.principal = principal;
        if (principal?.userId) request.logContext.userId = principal.userId;
        return { ok: true };
      }
      first ??= { ok: false, ...refusal, alternative };
    }
    return first ?? { ok: true };
  };

  return { authenticate };
}

export type CredentialChecks = ReturnType<typeof createCredentialChecks>;
