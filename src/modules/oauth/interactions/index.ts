import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { registerWebPlumbing, type WebError } from '../../../http/web/index.ts';
import { createConsentStep } from './consent-step.ts';
import { createInteractionContext, type InteractionDeps } from './interaction-context.ts';
import { createLoginStep } from './login-step.ts';
import { createMfaStep } from './mfa-step.ts';
import { registerRegistration, registrationToken } from './registration.ts';

export { AUTH_CSP, type InteractionDeps } from './interaction-context.ts';

/**
 * Sign-in (password, second factor), consent and developer registration pages under /auth, on the web
 * plumbing in scopes of their own (oidc-provider's routes keep reading raw bodies). Every POST passes the
 * one form rule — its token bound to the interaction (or, for registration, to a `__Host-` nonce cookie) —
 * and every step answers with 303.
 */
export function registerInteractionRoutes(app: FastifyInstance, deps: InteractionDeps): void {
  const ctx = createInteractionContext(deps);
  const { problems } = deps;
  const origin = new URL(deps.baseUrl).origin;
  const renderError = (request: FastifyRequest, reply: FastifyReply, error: WebError) =>
    ctx.fail(request, reply, error.status, error.detail);

  app.register(async (scope) => {
    await registerWebPlumbing(scope, { origin, problems, expectedToken: ctx.expectedToken, renderError });
    const login = createLoginStep(ctx);
    const mfa = createMfaStep(ctx);
    const consent = createConsentStep(ctx);

    // The page of whatever step the interaction is at.
    scope.get('/auth/interaction/:uid', async (request, reply) => {
      const live = await ctx.live(request, reply);
      if (!live) return ctx.expired(request, reply);
      if (live.interaction.prompt.name === 'login') {
        const pending = await ctx.pending.read(live.uid);
        return (pending && (await mfa.page(reply, live.uid, pending))) ?? login.page(reply, live);
      }
      if (live.interaction.prompt.name === 'consent') return consent.page(request, reply, live);
      return ctx.fail(request, reply, 400, 'This sign-in step is not supported.');
    });
    login.register(scope);
    mfa.register(scope);
    consent.register(scope);
  });

  app.register(async (scope) => {
    await registerWebPlumbing(scope, {
      origin,
      problems,
      expectedToken: (request) => registrationToken(ctx, request),
      renderError,
    });
    registerRegistration(scope, ctx);
  });
}
