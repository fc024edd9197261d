import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { gettingStartedPage } from '../../../web/portal/getting-started-page.ts';
import { OAUTH2_REDIRECT_PATH } from './oauth2-redirect.ts';
import { idParam, type Portal } from './portal-context.ts';

/** Per application, a getting-started page with its real ids in copyable snippets (never a secret). */
export function registerGettingStarted(signedIn: FastifyInstance, portal: Portal): void {
  const { applications, apiKeys } = portal.deps;
  const { baseUrl, config } = portal.deps.context;

  signedIn.get('/portal/applications/:appId/getting-started', async (request, reply) => {
    const { actor } = await portal.user(request);
    const app = await applications.get(idParam(request, 'appId'), actor);
    const keys = await apiKeys.list({ clientApplicationId: app.id }, actor);
    const live = keys.filter((key) => key.state === 'active' || key.state === 'pending').at(-1);
    const may = (api: string) => app.apis.includes('*') || app.apis.includes(api);
    const firstApi = app.apis.find((api) => api !== '*') ?? 'accounts';
    const tokenPath = may('accounts')
      ? '/accounts/accounts'
      : app.kind === 'service' && may('clientApplications')
        ? '/clientApplications/clientApplications'
        : `/${firstApi}/`;
    const page = gettingStartedPage({
      baseUrl,
      // The demo's certificate comes from a local CA that curl and Node do not know.
      caFile: config.tlsCert ? undefined : path.join(config.dataDir, 'tls', 'ca.pem'),
      app,
      keyHint: live && `${live.prefix}…${live.last4}`,
      referenceRedirect: `${baseUrl}${OAUTH2_REDIRECT_PATH}`,
      keyOnlyPath: may('products') ? '/products/products' : `/${firstApi}/`,
      tokenPath,
      referenceApi: tokenPath.split('/')[1] || firstApi,
    });
    return portal.send(request, reply, 200, `Getting started — ${app.name}`, page);
  });
}
