import type { FastifyInstance, FastifyReply } from 'fastify';
import { field, form, postForm } from '../../../http/web/index.ts';
import { enrolPage, mfaPage, recoveryCodesPage } from '../../../web/auth/pages.ts';
import type { InteractionContext, Pending } from './interaction-context.ts';
import { MESSAGES } from './login-step.ts';

const MAX_OTP_FAILURES = 5;
const TOO_MANY = 'Too many incorrect codes. Start again from the application.';

/** TOTP codes are 6 digits; recovery codes (accepted in the same field) are longer. */
const codeForm = form({ otp: field.text(64) });
const enrolForm = form({ otp: field.text(16) });
const continueForm = form({});

/**
 * The second factor after the password: a TOTP or recovery code, or — for a user whose roles need MFA and
 * who has none yet — enrolment (a new TOTP secret confirmed with a code) and the recovery codes, shown once.
 */
export function createMfaStep(ctx: InteractionContext) {
  const { identity } = ctx.deps;

  /** The page of the pending second-factor step, or undefined when there is none. */
  async function page(reply: FastifyReply, uid: string, pending: Pending) {
    const csrf = await ctx.csrfFor(uid);
    if (pending.mode === 'verify')
      return ctx.send(
        reply,
        200,
        'Two-step verification',
        mfaPage({ action: `/auth/interaction/${uid}/mfa`, csrf }),
      );
    if (pending.mode === 'enroll' && pending.secret) {
      const user = await identity.getUser(pending.userId);
      const uri = identity
        .newTotpEnrolment(user?.username ?? 'user')
        .uri.replace(/secret=[^&]+/, `secret=${pending.secret}`);
      const body = enrolPage({ action: `/auth/interaction/${uid}/enrol`, csrf, secret: pending.secret, uri });
      return ctx.send(reply, 200, 'Set up two-step verification', body);
    }
    if (pending.mode === 'codes' && pending.codes) {
      const body = recoveryCodesPage({
        action: `/auth/interaction/${uid}/continue`,
        csrf,
        codes: pending.codes,
      });
      return ctx.send(reply, 200, 'Recovery codes', body);
    }
    return undefined;
  }

  /**
   * Count a wrong code while enrolling (a secret the user was just shown, not an account's factor); true
   * when that was one too many (the pending step is then dropped).
   */
  async function countFailure(uid: string, pending: Pending): Promise<boolean> {
    pending.failures += 1;
    if (pending.failures >= MAX_OTP_FAILURES) {
      await ctx.pending.delete(uid);
      return true;
    }
    await ctx.pending.write(uid, pending);
    return false;
  }

  function register(scope: FastifyInstance): void {
    postForm(scope, '/auth/interaction/:uid/mfa', codeForm, async (request, reply) => {
      const live = await ctx.live(request, reply);
      const pending = live && (await ctx.pending.read(live.uid));
      if (!live || pending?.mode !== 'verify') return ctx.expired(request, reply);
      // The address throttle of sign-in applies too; then the account's own count, in the store (not per
      // interaction): a new interaction gets no new budget.
      const throttled = await identity.addressRetryAfter(request.ip);
      const attempt = throttled
        ? ({ ok: false, reason: 'locked', retryAfterSeconds: throttled } as const)
        : await identity.attemptOtp(pending.userId, request.body.otp);
      if (attempt.ok) return ctx.finishLogin(request, reply, live, pending.userId, ['pwd', 'otp']);
      if (!throttled) await identity.countAddressFailure(request.ip);
      const locked = attempt.reason === 'locked';
      request.logContext.refusal = throttled ? 'mfa.throttled' : locked ? 'mfa.locked' : 'mfa.failed';
      if (locked) reply.header('retry-after', String(attempt.retryAfterSeconds));
      const body = mfaPage({
        action: `/auth/interaction/${live.uid}/mfa`,
        csrf: await ctx.csrfFor(live.uid),
        error: locked ? MESSAGES.locked : 'The code is not correct or was already used.',
      });
      return ctx.send(reply, locked ? 429 : 401, 'Two-step verification', body);
    });

    postForm(scope, '/auth/interaction/:uid/enrol', enrolForm, async (request, reply) => {
      const live = await ctx.live(request, reply);
      const pending = live && (await ctx.pending.read(live.uid));
      if (!live || pending?.mode !== 'enroll' || !pending.secret) return ctx.expired(request, reply);
      const codes = await identity.confirmTotp(pending.userId, pending.secret, request.body.otp);
      if (codes) {
        await ctx.pending.write(live.uid, { userId: pending.userId, mode: 'codes', codes, failures: 0 });
      } else if (await countFailure(live.uid, pending)) {
        return ctx.fail(request, reply, 429, TOO_MANY);
      }
      return reply.redirect(`/auth/interaction/${live.uid}`, 303);
    });

    postForm(scope, '/auth/interaction/:uid/continue', continueForm, async (request, reply) => {
      const live = await ctx.live(request, reply);
      const pending = live && (await ctx.pending.read(live.uid));
      if (!live || pending?.mode !== 'codes') return ctx.expired(request, reply);
      return ctx.finishLogin(request, reply, live, pending.userId, ['pwd', 'otp']);
    });
  }

  return { page, register };
}
