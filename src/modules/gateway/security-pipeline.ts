import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ProblemEnv, sendProblem } from '../../http/problem-reply.ts';
import type { CompiledOperation, SecurityAlternative } from './compiled-api.ts';
import type { UsageRecorder } from './contract.ts';
import type { Cors } from './cors.ts';
import type { CredentialChecks, CredentialOutcome } from './credentials.ts';
import type { createFreshStateCheck } from './fresh-state.ts';
import type { FailureThrottle, RateLimits } from './rate-limits.ts';
import { ANSWERS, type Refusal } from './refusals.ts';
import type { GatewayState } from './request-state.ts';

/** One request on its way through the pipeline. */
interface PipelineRun {
  request: FastifyRequest;
  reply: FastifyReply;
  state: GatewayState;
  credentials: CredentialOutcome;
}

/** A step's refusal: the reason (answered through DESIGN.md §1's table) and extra headers. */
interface Refused {
  reason: Refusal;
  /** For the log only. */
  why: string;
  alternative?: SecurityAlternative;
  headers?: Record<string, string>;
}

/** A step returns nothing to let the request go on, or the refusal that answers it. */
type Step = (run: PipelineRun) => Refused | undefined | Promise<Refused | undefined>;

const PASSED: CredentialOutcome = { ok: true };
/** Failures anyone can provoke with a public key: they feed the per-address throttle (row 9). */
const THROTTLED_FAILURES = new Set<Refusal>(['keyInvalid', 'tokenInvalid', 'tokenKeyBound']);

/**
 * The gateway's security pipeline (DESIGN.md §1), run in Fastify's `onRequest` before any body is read, as
 * a list of small named steps in the order of the decision table:
 *
 *   rejectThrottledAddress → requireFreshState → checkCredentials → identifyCaller → refuseBadCredentials → limitRate
 *
 * then (in the route handler) validation, entitlements and dispatch; every answer to a request with a
 * verified key is metered in `onResponse`.
 */
export function createSecurityPipeline(deps: {
  env: ProblemEnv;
  credentials: CredentialChecks;
  cors: Cors;
  rateLimits: RateLimits;
  throttle: FailureThrottle;
  usage: UsageRecorder;
  requireFreshState: ReturnType<typeof createFreshStateCheck>;
}) {
  const { env, credentials, cors, rateLimits, throttle } = deps;

  /** Row 9, checked first: an address with too many failed key/token attempts. */
  const rejectThrottledAddress: Step = ({ request }) => {
    const blocked = throttle.blockedFor(request.ip);
    if (blocked <= 0) return undefined;
    return {
      reason: 'preAuthThrottled',
      why: request.ip,
      headers: {
        'retry-after': String(blocked),
        ratelimit: `"failures";r=0;t=${blocked}`,
        'ratelimit-policy': throttle.policy,
      },
    };
  };

  /** Rows 1–7: the verdict is kept for `refuseBadCredentials`, after the caller is identified. */
  const checkCredentials: Step = async (run) => {
    if (run.state.op.security.length === 0) return undefined;
    run.credentials = await credentials.authenticate(run.request, run.state);
    return undefined;
  };

  /** A verified key is named in the log and gets its CORS headers, whatever the verdict. */
  const identifyCaller: Step = ({ request, reply, state }) => {
    const key = state.key;
    if (!key) return undefined;
    request.logContext.applicationId = key.applicationId;
    request.logContext.apiKeyId = key.keyId;
    cors.expose(request, reply, key);
    return undefined;
  };

  /** The first failing alternative's refusal; a verified key's rate-limit state rides along uncounted. */
  const refuseBadCredentials: Step = ({ request, state, credentials: outcome }) => {
    if (outcome.ok) return undefined; // synchronous on the hot path
    if (THROTTLED_FAILURES.has(outcome.reason)) throttle.recordFailure(request.ip);
    const refused = { reason: outcome.reason, why: outcome.why, alternative: outcome.alternative };
    const key = state.key;
    if (!key) return { ...refused, headers: {} };
    return rateLimits.peek(key.keyId, key.plan).then(({ policy, state: current }) => ({
      ...refused,
      headers: { 'ratelimit-policy': policy, ratelimit: current },
    }));
  };

  /** Row 9: the key's plan. */
  const limitRate: Step = async ({ reply, state }) => {
    const key = state.key;
    if (!key) return undefined;
    const decision = await rateLimits.consume(key.keyId, key.plan);
    reply.header('ratelimit-policy', decision.policy);
    reply.header('ratelimit', decision.state);
    if (decision.allowed) return undefined;
    return { reason: 'rateLimited', why: key.keyId, headers: { 'retry-after': String(decision.retryAfter) } };
  };

  const steps: readonly Step[] = [
    rejectThrottledAddress,
    deps.requireFreshState,
    checkCredentials,
    identifyCaller,
    refuseBadCredentials,
    limitRate,
  ];

  const refuse = (request: FastifyRequest, reply: FastifyReply, refused: Refused) => {
    const answer = ANSWERS[refused.reason];
    request.logContext.refusal = `${refused.reason}:${refused.why}`;
    const headers = refused.headers ?? {};
    if (answer.challenge) headers['www-authenticate'] = answer.challenge(refused.alternative);
    return sendProblem(request, reply, env, answer.type, {
      detail: answer.detail,
      remediation: answer.remediation,
      headers,
    });
  };

  return {
    /** The names of the steps, in order (for documentation and tests). */
    steps: steps.map((step) => step.name),

    async onRequest(request: FastifyRequest, reply: FastifyReply) {
      const op = request.routeOptions.config.gatewayOperation;
      if (!op) return;
      const state: GatewayState = { op, key: undefined, principal: undefined };
      request.gateway = state;
      const run: PipelineRun = { request, reply, state, credentials: PASSED };
      for (const step of steps) {
        const verdict = step(run);
        // Synchronous steps are not awaited: a microtask per step is measurable on the hot path.
        const refused = verdict instanceof Promise ? await verdict : verdict;
        if (refused) return refuse(request, reply, refused);
      }
    },

    /**
     * A request under an API's prefix that matches none of its operations (issue 10 #13). Without an
     * `API-Key` header nothing changes: routing answers 404/405. With a verified key the answer is
     * rate-limited, carries the `RateLimit` headers and is metered like any other; a bad key still gets
     * the routing answer (no credential oracle), but counts for the address throttle. Returns true when
     * the request was answered here (address throttled, or the key's rate limit exceeded).
     */
    async onUnrouted(request: FastifyRequest, reply: FastifyReply, op: CompiledOperation): Promise<boolean> {
      if (request.headers['api-key'] === undefined) return false;
      const state: GatewayState = { op, key: undefined, principal: undefined, unrouted: true };
      request.gateway = state;
      const run: PipelineRun = { request, reply, state, credentials: PASSED };
      const throttled = await rejectThrottledAddress(run);
      if (throttled) {
        refuse(request, reply, throttled);
        return true;
      }
      run.credentials = await credentials.authenticate(request, state);
      if (!run.credentials.ok && THROTTLED_FAILURES.has(run.credentials.reason))
        throttle.recordFailure(request.ip);
      identifyCaller(run);
      const limited = await limitRate(run);
      if (limited) {
        refuse(request, reply, limited);
        return true;
      }
      return false;
    },

    /** A callback hook (no promise per request): metering is a synchronous in-memory count. */
    onResponse(request: FastifyRequest, reply: FastifyReply, done: () => void) {
      const state = request.gateway;
      if (!state?.key) return done();
      deps.usage.record({
        keyId: state.key.keyId,
        applicationId: state.key.applicationId,
        api: state.op.api,
        operationId: state.op.operationId,
        status: reply.statusCode,
        at: env.clock.now(),
        reason: request.logContext.refusal,
        // A wrong path is no refusal of the caller's rights: it never counts toward abuse.
        abuseExempt: state.key.abuseExempt || state.unrouted === true,
        principal: state.principal,
      });
      done();
    },
  };
}

export type SecurityPipeline = ReturnType<typeof createSecurityPipeline>;
