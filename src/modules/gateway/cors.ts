import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ProblemEnv, sendProblem } from '../../http/problem-reply.ts';
import type { KeyVerifier, VerifiedKey } from './contract.ts';
import type { PreflightSpec } from './request-state.ts';

const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$|^https?:\/\/\[[0-9a-fA-F:.]+\](?::\d{1,5})?$/;
const EXPOSED_HEADERS =
  'RateLimit, RateLimit-Policy, Retry-After, X-Request-Id, ETag, Location, WWW-Authenticate, X-FAPI-Interaction-ID';
/** Request headers every API operation accepts from browsers (plus the operation's header parameters). */
export const CORS_REQUEST_HEADERS = [
  'API-Key',
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'If-Match',
  'If-None-Match',
  'X-FAPI-Interaction-ID',
];
const LEARNED_ORIGINS_MAX = 100_000;

/**
 * Browser calls (CORS): an application's registered origins only, never reflected blindly. The platform's
 * own origin is same-origin and needs nothing.
 */
export function createCors(deps: { env: ProblemEnv; keys: KeyVerifier }) {
  const { env } = deps;
  const selfOrigin = new URL(env.baseUrl).origin;
  // Origins seen on verified keys: lets preflights (which carry no key) pass when the key verifier cannot
  // answer "is this origin registered anywhere?" itself.
  const learnedOrigins = new Set<string>();

  const originRegistered = async (origin: string) =>
    origin === selfOrigin ||
    learnedOrigins.has(origin) ||
    (await deps.keys.isRegisteredOrigin?.(origin)) === true;

  return {
    /** Remember the origins of a verified key (for preflights). */
    learn(key: VerifiedKey): void {
      for (const origin of key.corsOrigins)
        if (learnedOrigins.size < LEARNED_ORIGINS_MAX) learnedOrigins.add(origin);
    },

    /** May a browser page at `origin` call with this key? (No `Origin` header: not a browser call.) */
    permits(key: VerifiedKey, origin: string | undefined): boolean {
      return origin === undefined || origin === selfOrigin || key.corsOrigins.includes(origin);
    },

    /** The CORS response headers for a call with a verified key from one of its registered origins. */
    expose(request: FastifyRequest, reply: FastifyReply, key: VerifiedKey): void {
      const origin = request.headers.origin;
      if (origin === undefined || origin === selfOrigin || !key.corsOrigins.includes(origin)) return;
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-expose-headers', EXPOSED_HEADERS);
      reply.header('vary', 'Origin');
    },

    /** The handler of every `OPTIONS` route the gateway registers. */
    async preflight(request: FastifyRequest, reply: FastifyReply) {
      const spec = request.routeOptions.config.gatewayPreflight as PreflightSpec;
      const requested = request.headers['access-control-request-method'];
      const origin = request.headers.origin;
      if (requested === undefined)
        return reply
          .code(204)
          .header('allow', ['OPTIONS', ...spec.methods].join(', '))
          .send();
      // Preflights carry no credentials: they are answered from registered origins only, never reflected
      // blindly, and an opaque `null` origin is refused.
      if (origin === undefined || !ORIGIN.test(origin) || !(await originRegistered(origin))) {
        request.logContext.refusal = 'originNotAllowed:preflight';
        return sendProblem(request, reply, env, 'forbidden', { detail: 'This origin is not allowed.' });
      }
      if (!spec.methods.includes(String(requested).toUpperCase())) {
        request.logContext.refusal = 'methodNotAllowed:preflight';
        return sendProblem(request, reply, env, 'forbidden', { detail: 'This method is not allowed here.' });
      }
      return reply
        .code(204)
        .header('access-control-allow-origin', origin)
        .header('access-control-allow-methods', spec.methods.join(', '))
        .header('access-control-allow-headers', spec.headers)
        .header('access-control-max-age', '600')
        .header('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers')
        .send();
    },
  };
}

export type Cors = ReturnType<typeof createCors>;
