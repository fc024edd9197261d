import { AppError } from '../../errors/index.ts';
import { OPAQUE_ID_PATTERN } from '../../lib/ids.ts';
import type { CheckAnswer, CompiledCheck, CompiledOperation } from './compiled-api.ts';
import { isObject } from './compiled-api.ts';
import type {
  EntitlementService,
  EntitlementView,
  Principal,
  SubjectEnvironments,
  VerifiedKey,
} from './contract.ts';
import { notFound, type ValidInput } from './request-validation.ts';

const EMPTY: ReadonlySet<string> = new Set();

/**
 * DESIGN.md §1 row 8: the operation's `x-strongroom-entitlement` checks against the validated input, and
 * the entitlement view handlers get for list operations.
 */
export function createEntitlementChecks(entitlements: EntitlementService, subjects?: SubjectEnvironments) {
  /**
   * DESIGN.md §5.4: a user's entitlements count only through an application of the user's environment,
   * so a sandbox key never reads production data (nor a production key a sandbox customer's), whatever
   * token it presents. Sign-in refuses such pairs already; this holds even for tokens issued before an
   * application changed environment. Client-credentials tokens belong to the key's own application.
   */
  const inKeyEnvironment = (
    principal: Principal,
    key: VerifiedKey | undefined,
  ): boolean | Promise<boolean> => {
    if (!principal.userId || !subjects) return true;
    const wanted = key?.environment ?? 'production';
    const environment = subjects.environmentOf(principal.userId);
    return environment instanceof Promise ? environment.then((e) => e === wanted) : environment === wanted;
  };

  /** The refusal of a failed check; "not visible" and "not permitted" read differently unless both are 404. */
  const refusal = (check: CompiledCheck, answer: CheckAnswer, visible: boolean, reason: string) =>
    answer.type === 'notFound'
      ? notFound(reason)
      : new AppError(answer.type, {
          detail: visible
            ? `You may not use this ${check.resource} this way (${check.permission}).`
            : `The ${check.resource} given in ${check.name} does not exist or is not available.`,
          reason,
        });

  const referencedId = (check: CompiledCheck, input: ValidInput): unknown => {
    if (check.in === 'path') return input.params[check.name];
    if (check.in === 'query') return input.query[check.name];
    return check.pointer.reduce<unknown>(
      (node, token) => (isObject(node) ? node[token] : undefined),
      input.body,
    );
  };

  return {
    /**
     * Id positions before schema validation (DESIGN.md §4, issue 10 #14): a string in a checked query or
     * body position that cannot be an opaque id gets the check's own answer (404 in a query, 422
     * `invalidAccountId` in a transfer body), never the schema's 400 — so `?account=<id>%00` reads exactly
     * like an unknown account. Non-strings are left to validation.
     */
    rejectMalformedIds(op: CompiledOperation, query: unknown, body: unknown): void {
      for (const check of op.checks) {
        if (check.in === 'path') continue; // validateRequest answers malformed path ids with 404
        const bodyCheck = check.in === 'body';
        const value = bodyCheck
          ? referencedId(check, { params: {}, query: {}, body, contentType: undefined })
          : isObject(query)
            ? query[check.name]
            : undefined;
        if (typeof value !== 'string' || OPAQUE_ID_PATTERN.test(value)) continue;
        const answer = bodyCheck ? check.notVisibleAnswer : check.notPermittedAnswer;
        throw refusal(check, answer, !bodyCheck, `notEntitled:${check.name}:malformed`);
      }
    },

    /** Throws the check's problem on the first check that fails; absent values are not checked. */
    async check(
      op: CompiledOperation,
      input: ValidInput,
      caller: Principal | undefined,
      key?: VerifiedKey,
    ): Promise<void> {
      if (op.checks.length === 0) return;
      // Outside its environment a token is entitled to nothing: answered as if it had no user. (Awaited
      // only on a cache miss: the hot path stays synchronous here.)
      let same = caller ? inKeyEnvironment(caller, key) : false;
      if (typeof same !== 'boolean') same = await same;
      const principal = same ? caller : undefined;
      for (const check of op.checks) {
        const value = referencedId(check, input);
        if (value === undefined) continue;
        const bodyCheck = check.in === 'body';
        // A body reference names something to act on: "cannot see it" and "may not do this" differ there.
        // A path or query id the subject cannot use simply does not exist for them.
        const unusable = bodyCheck ? check.notVisibleAnswer : check.notPermittedAnswer;
        if (!principal || typeof value !== 'string' || !OPAQUE_ID_PATTERN.test(value)) {
          throw refusal(check, unusable, !bodyCheck, `notEntitled:${check.name}`);
        }
        const resourceId = check.resolve ? await check.resolve(value) : value;
        if (resourceId === undefined)
          throw refusal(check, check.notVisibleAnswer, false, `notEntitled:${check.name}:unresolved`);
        if (bodyCheck && !(await entitlements.has(principal.subject, check.resource, resourceId, 'view'))) {
          throw refusal(check, check.notVisibleAnswer, false, `notEntitled:${check.name}:view`);
        }
        if (!(await entitlements.has(principal.subject, check.resource, resourceId, check.permission))) {
          throw refusal(
            check,
            check.notPermittedAnswer,
            true,
            `notEntitled:${check.name}:${check.permission}`,
          );
        }
      }
    },

    /** What a handler may ask about the caller's entitlements (nothing without a user token). */
    view(principal: Principal | undefined, key?: VerifiedKey): EntitlementView {
      if (!principal) return { has: async () => false, ids: async () => EMPTY };
      return {
        has: async (type, id, permission) =>
          (await inKeyEnvironment(principal, key)) &&
          entitlements.has(principal.subject, type, id, permission),
        ids: async (type, permission) =>
          (await inKeyEnvironment(principal, key))
            ? entitlements.ids(principal.subject, type, permission)
            : EMPTY,
      };
    },
  };
}

export type EntitlementChecks = ReturnType<typeof createEntitlementChecks>;
