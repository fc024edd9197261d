import type { FastifyInstance } from 'fastify';
import { readDemoFile } from '../../demo/demo-file.ts';
import { registerWebPlumbing, sendPage } from '../../http/web/index.ts';
import type { ModuleContext } from '../../modules/module-context.ts';
import { registerDemoActions } from './demo-actions.ts';
import { discover } from './demo-api.ts';
import { registerDemoHome } from './demo-home.ts';
import { errorPage } from './demo-pages.ts';
import { createDemoSessions, type DemoRuntime, type DemoSetup } from './demo-session.ts';
import { registerDemoSignIn } from './demo-sign-in.ts';

/**
 * The /demo/ browser client: a small back-office web app that IS the demo institution's `backOffice`
 * application. It reads its credentials from demo.json, signs a demo user in through the real
 * authorization-code flow with PKCE, keeps the tokens server-side, and calls the APIs through the gateway.
 * Wired by the app (it is a client of the platform, not part of the banking APIs).
 */
export function registerDemoClient(app: FastifyInstance, context: ModuleContext): void {
  const { sessions, flash } = createDemoSessions(context);
  let configuration: DemoSetup | undefined;

  const runtime: DemoRuntime = {
    app,
    context,
    sessions,
    flash,
    async setup() {
      const demo = await readDemoFile(context.config.dataDir);
      const backOffice = demo?.apps.backOffice;
      if (!demo || !backOffice) return undefined;
      if (configuration?.demo.apps.backOffice?.apiKey !== backOffice.apiKey) {
        configuration = {
          demo,
          oidc: await discover(`${context.baseUrl}/auth`, backOffice, demo.caCertFile),
        };
      } else configuration.demo = demo;
      return configuration;
    },
    async sessionOf(request, reply) {
      return (await sessions.load(request)) ?? sessions.issue(request, reply, {});
    },
  };

  app.register(async (scope) => {
    await registerWebPlumbing(scope, {
      origin: new URL(context.baseUrl).origin,
      problems: context.problems,
      expectedToken: async (request) => (await sessions.load(request))?.csrf,
      renderError: (_request, reply, error) =>
        sendPage(reply, error.status, errorPage(error.title, error.detail)),
    });
    registerDemoHome(scope, runtime);
    registerDemoSignIn(scope, runtime);
    registerDemoActions(scope, runtime);
  });
}
