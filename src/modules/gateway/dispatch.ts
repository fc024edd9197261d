import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../lib/clock.ts';
import type { CompiledApi, CompiledOperation } from './compiled-api.ts';
import type { ApiCall, ApiResult, VerifiedKey } from './contract.ts';
import { CREDENTIAL_HEADERS } from './credentials.ts';
import type { EntitlementChecks } from './entitlement-checks.ts';
import { IDENTITY_HEADER, type IdentityAssertions } from './identity-assertions.ts';
import { stateOf } from './request-state.ts';
import { isQueryCredential, validateRequest } from './request-validation.ts';
import type { UpstreamProxy } from './upstream-proxy.ts';

const SMUGGLED_CREDENTIAL = /(?:^|[?&])(?:access_token|api_key|apikey|api-key|key)=/i;

/**
 * The last step of every API operation, once the security pipeline passed: validate the request, check
 * entitlements, then call the in-process handler or forward to the upstream with a signed identity.
 */
export function createDispatch(deps: {
  baseUrl: string;
  clock: Clock;
  entitlements: EntitlementChecks;
  assertions: IdentityAssertions;
}) {
  const { baseUrl, clock, entitlements, assertions } = deps;
  const publicUrl = new URL(baseUrl);
  const forwardedProto = publicUrl.protocol.replace(':', '');

  const sendResult = (reply: FastifyReply, result: ApiResult) => {
    reply.code(result.status);
    if (result.headers) reply.headers(result.headers);
    const body = result.body;
    if (body === undefined || body === null) return reply.send();
    if (Buffer.isBuffer(body) || typeof body === 'string') {
      return reply.type(result.contentType ?? 'application/octet-stream').send(body);
    }
    return reply.type(result.contentType ?? 'application/json; charset=utf-8').send(JSON.stringify(body));
  };

  /** The query string as sent, minus credentials smuggled into it (never forwarded). */
  const forwardedSearch = (op: CompiledOperation, search: string) => {
    if (!search || !SMUGGLED_CREDENTIAL.test(search)) return search;
    const params = new URLSearchParams(search);
    for (const name of [...params.keys()]) if (isQueryCredential(op, name)) params.delete(name);
    const rest = params.toString();
    return rest ? `?${rest}` : '';
  };

  return {
    /** The route handler of an in-process operation. */
    async inProcess(request: FastifyRequest, reply: FastifyReply) {
      const state = stateOf(request);
      const { op, principal } = state;
      if (op.checks.length > 0) entitlements.rejectMalformedIds(op, request.query, request.body);
      const input = validateRequest(request, op, false);
      await entitlements.check(op, input, principal, state.key);
      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (CREDENTIAL_HEADERS.has(name)) continue;
        headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const call: ApiCall = {
        api: op.api,
        operationId: op.operationId,
        params: input.params,
        query: input.query,
        headers,
        body: input.body,
        contentType: input.contentType,
        principal,
        key: state.key as VerifiedKey,
        entitlements: entitlements.view(principal, state.key),
        requestId: request.id,
        baseUrl,
        now: clock.now(),
      };
      return sendResult(reply, await (op.handler as NonNullable<CompiledOperation['handler']>)(call));
    },

    /** The route handler of every operation of an upstream API. */
    upstream(api: CompiledApi, proxy: UpstreamProxy) {
      const audience = `${baseUrl}/${api.name}`;
      return async (request: FastifyRequest, reply: FastifyReply) => {
        const { op, key, principal } = stateOf(request);
        // Bodies are still bytes here: only query ids are checked before validation.
        if (op.checks.length > 0) entitlements.rejectMalformedIds(op, request.query, undefined);
        const input = validateRequest(request, op, true);
        await entitlements.check(op, input, principal, key);
        const raw = request.raw.url ?? '/';
        const queryAt = raw.indexOf('?');
        const pathname = (queryAt === -1 ? raw : raw.slice(0, queryAt)).slice(api.name.length + 1);
        const search = forwardedSearch(op, queryAt === -1 ? '' : raw.slice(queryAt));
        const asserted = assertions.assert(api.name, audience, key, principal);
        const identity = typeof asserted === 'string' ? asserted : await asserted;
        const upstream = await proxy.forward({
          method: request.method,
          pathAndQuery: pathname + search,
          headers: request.headers,
          declaredHeaders: op.headerParams.map((h) => h.lower),
          extraHeaders: {
            [IDENTITY_HEADER]: identity,
            'x-request-id': request.id,
            'x-forwarded-for': request.ip,
            'x-forwarded-proto': forwardedProto,
            'x-forwarded-host': publicUrl.host,
          },
          body: Buffer.isBuffer(request.body) && request.body.length > 0 ? request.body : undefined,
        });
        reply.code(upstream.status);
        reply.headers(upstream.headers);
        return reply.send(upstream.body);
      };
    },
  };
}

export type Dispatch = ReturnType<typeof createDispatch>;
