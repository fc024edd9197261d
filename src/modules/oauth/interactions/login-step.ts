import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { field, form, postForm } from '../../../http/web/index.ts';
import { loginPage } from '../../../web/auth/pages.ts';
import type { InteractionContext, Live } from './interaction-context.ts';

const loginForm = form({ username: field.text(256), password: field.text(1024) });

/** The sign-in refusals' wording; the second-factor lock says the same as the password lockout. */
export const MESSAGES = {
  invalid: 'The username or password is not correct.',
  locked: 'Too many failed attempts. Wait 15 minutes and try again, or contact the institution.',
} as const;

/** The password step: the sign-in page, and its post (then the second factor, if the user's roles need it). */
export function createLoginStep(ctx: InteractionContext) {
  const { identity } = ctx.deps;

  async function page(
    reply: FastifyReply,
    live: Live,
    status = 200,
    refused?: { username: string; error: string },
  ) {
    const client = await ctx.clientOf(live.provider, String(live.interaction.params.client_id));
    return ctx.send(
      reply,
      status,
      'Sign in',
      loginPage({
        action: `/auth/interaction/${live.uid}/login`,
        csrf: await ctx.csrfFor(live.uid),
        clientName: client.name,
        registerUrl: '/auth/register',
        ...refused,
      }),
    );
  }

  function register(scope: FastifyInstance): void {
    postForm(scope, '/auth/interaction/:uid/login', loginForm, async (request, reply) => {
      const live = await ctx.live(request, reply);
      if (live?.interaction.prompt.name !== 'login') return ctx.expired(request, reply);
      const { username, password } = request.body;
      const result = await identity.authenticate({ username, password, address: request.ip });
      if (!result.ok) return refuse(request, reply, live, username, result);
      request.logContext.userId = result.user.id;
      const wrongEnvironment = await ctx.environmentRefusal(live, result.user.id);
      if (wrongEnvironment) {
        request.logContext.refusal = 'signin.wrongEnvironment';
        return page(reply, live, 403, { username, error: wrongEnvironment });
      }
      if (result.mfa === 'none') return ctx.finishLogin(request, reply, live, result.user.id, ['pwd']);
      if (result.mfa === 'verify') {
        await ctx.pending.write(live.uid, { userId: result.user.id, mode: 'verify', failures: 0 });
      } else {
        const { secret } = identity.newTotpEnrolment(result.user.username);
        await ctx.pending.write(live.uid, { userId: result.user.id, mode: 'enroll', secret, failures: 0 });
      }
      return reply.redirect(`/auth/interaction/${live.uid}`, 303);
    });
  }

  function refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    live: Live,
    username: string,
    result: { reason: string; retryAfterSeconds?: number },
  ) {
    const invalid = result.reason === 'invalid';
    if (result.retryAfterSeconds) reply.header('retry-after', String(result.retryAfterSeconds));
    request.logContext.refusal = `signin.${result.reason}`;
    return page(reply, live, invalid ? 401 : 429, {
      username,
      error: invalid ? MESSAGES.invalid : MESSAGES.locked,
    });
  }

  return { page, register };
}
