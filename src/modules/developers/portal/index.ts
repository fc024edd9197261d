import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../../errors/index.ts';
import { registerWebPlumbing } from '../../../http/web/index.ts';
import { errorPage } from '../../../web/portal/layout.ts';
import { registerApplications } from './application-routes.ts';
import { registerGettingStarted } from './getting-started-routes.ts';
import { registerKeys } from './key-routes.ts';
import { registerDashboard, registerOrganizations } from './organization-routes.ts';
import { createPortal, type Portal, type PortalDeps } from './portal-context.ts';
import { registerReference, registerReferenceAssets } from './reference-routes.ts';
import { registerSandbox } from './sandbox-routes.ts';
import { registerSignIn, registerSignOut } from './sign-in-routes.ts';

export type { PortalDeps } from './portal-context.ts';

const POSTS_PER_MINUTE = 60;

/**
 * The developer portal under /portal: sign-in through the authorization server (the first-party `portal`
 * client), a server-side session (`__Host-` cookie; only its hash is stored), the one form rule on every
 * POST, a schema for every form, 303 after every POST. Pages call the same services as the platform API
 * handlers with the same actor, so the same authorization rules apply.
 */
export function registerPortal(app: FastifyInstance, deps: PortalDeps): void {
  const portal = createPortal(deps);
  registerReferenceAssets(app);
  app.register(async (scope) => {
    await registerWebPlumbing(scope, {
      origin: new URL(deps.context.baseUrl).origin,
      problems: deps.context.problems,
      expectedToken: async (request) => (await portal.sessions.load(request))?.csrf,
      renderError: (request, reply, error) =>
        portal.send(request, reply, error.status, error.title, errorPage(error)),
    });
    scope.addHook('onRequest', loadSessionAndThrottle(portal));
    registerSignIn(scope, portal, app);
    registerDashboard(scope, portal);
    registerReference(scope, portal);
    scope.register(async (signedIn) => {
      signedIn.addHook('onRequest', async (request, reply) => {
        if (await portal.sessions.load(request)) return;
        // A page remembers where to come back to; a form posted after the session ended does not.
        const path = (request.raw.url ?? '/portal').split('?')[0] ?? '/portal';
        const returnTo = request.method === 'GET' ? `?returnTo=${encodeURIComponent(path)}` : '';
        return reply.redirect(`/portal/login${returnTo}`, 303);
      });
      registerSignOut(signedIn, portal);
      registerOrganizations(signedIn, portal);
      registerApplications(signedIn, portal);
      registerGettingStarted(signedIn, portal);
      registerKeys(signedIn, portal);
      registerSandbox(signedIn, portal);
    });
  });
}

/**
 * Every portal request reads its session once (and logs its user). Form posts are throttled per user (or
 * address), counted before the form is checked: generous for people, a wall for scripts.
 */
function loadSessionAndThrottle(portal: Portal) {
  const limiter = portal.deps.context.shared.rateLimiter({
    points: POSTS_PER_MINUTE,
    duration: 60,
    keyPrefix: 'portal-post',
  });
  return async (request: FastifyRequest) => {
    const session = await portal.sessions.load(request);
    if (session) request.logContext.userId = session.data.userId;
    if (request.method !== 'POST') return;
    try {
      await limiter.consume(session?.data.userId ?? `ip:${request.ip}`);
    } catch (rejection) {
      if (rejection instanceof Error) throw rejection;
      const ms = (rejection as { msBeforeNext?: number }).msBeforeNext ?? 1000;
      const seconds = Math.max(1, Math.ceil(ms / 1000));
      throw new AppError('tooManyRequests', {
        detail: `Too many changes in a short time. Try again in ${seconds} s.`,
        headers: { 'retry-after': String(seconds) },
        reason: 'portalPostLimit',
      });
    }
  };
}
