import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { dateIn } from '../../banking/index.ts';
import { sendPage } from '../../http/web/index.ts';
import { callApi } from './demo-api.ts';
import { accountPage, homePage, notConfiguredPage, signedOutPage } from './demo-pages.ts';
import type { DemoRuntime, DemoSession, DemoSetup } from './demo-session.ts';
import { accessToken } from './demo-sign-in.ts';

/** Ids in paths: what the APIs accept (anything else is not found). */
export const ID = /^[A-Za-z0-9_-]{1,64}$/;

interface AccountItem {
  id: string;
  name: string;
  category: string;
  accountNumbers: { masked: string };
}

/** A signed-in request: its session, the demo document and the credentials for the API calls. */
export interface SignedIn {
  session: DemoSession;
  demo: DemoSetup['demo'];
  credentials: { apiKey: string; accessToken: string };
}

/** The signed-in session of a request, or undefined after sending the browser back to /demo/. */
export async function signedIn(
  runtime: DemoRuntime,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<SignedIn | undefined> {
  const setup = await runtime.setup();
  if (!setup) {
    await sendPage(reply, 200, notConfiguredPage());
    return undefined;
  }
  const session = await runtime.sessions.load(request);
  const token = session && (await accessToken(runtime, session, setup));
  if (!session || !token) {
    await reply.redirect('/demo/', 303);
    return undefined;
  }
  const apiKey = setup.demo.apps.backOffice?.apiKey ?? '';
  return { session, demo: setup.demo, credentials: { apiKey, accessToken: token } };
}

/** The pages of the /demo/ client: home (accounts, transfers, applications, probes) and one account. */
export function registerDemoHome(scope: FastifyInstance, runtime: DemoRuntime): void {
  const { app, context } = runtime;

  scope.get('/demo', (_request, reply) => reply.redirect('/demo/', 303));

  scope.get('/demo/', async (request, reply) => {
    const setup = await runtime.setup();
    if (!setup) return sendPage(reply, 200, notConfiguredPage());
    const session = await runtime.sessionOf(request, reply);
    const token = await accessToken(runtime, session, setup);
    if (!token || !session.data.userId) return sendPage(reply, 200, signedOutPage(setup.demo, session.csrf));
    const credentials = { apiKey: setup.demo.apps.backOffice?.apiKey ?? '', accessToken: token };
    const accounts = await callApi(app, credentials, 'GET', '/accounts/accounts?limit=100');
    const items = accounts.status === 200 ? (accounts.body as { items: AccountItem[] }).items : [];
    const accountViews = [];
    for (const item of items) {
      accountViews.push({
        id: item.id,
        name: item.name,
        category: item.category,
        masked: item.accountNumbers.masked,
        balance: await callApi(app, credentials, 'GET', `/accounts/accounts/${item.id}/balance`),
      });
    }
    const user = setup.demo.users.find((u) => u.id === session.data.userId);
    return sendPage(
      reply,
      200,
      homePage({
        user: {
          username: user?.username ?? session.data.userId,
          persona: user?.persona ?? 'user',
          scopes: session.data.tokens?.scope ?? '',
        },
        csrf: session.csrf,
        accounts,
        accountViews,
        transfers: await callApi(app, credentials, 'GET', '/transfers/scheduledTransfers?limit=10'),
        applications: await callApi(
          app,
          credentials,
          'GET',
          '/accountApplications/accountApplications?limit=10',
        ),
        flash: await runtime.flash.take(session),
        idempotencyKey: randomUUID(),
        today: dateIn(context.config.timeZone, context.clock.now()),
      }),
    );
  });

  scope.get('/demo/accounts/:accountId', async (request, reply) => {
    const ctx = await signedIn(runtime, request, reply);
    if (!ctx) return reply;
    const { accountId } = request.params as { accountId: string };
    if (!ID.test(accountId)) return reply.callNotFound();
    const start = Math.max(0, Number((request.query as { start?: string }).start ?? 0) || 0);
    const user = ctx.demo.users.find((u) => u.id === ctx.session.data.userId);
    return sendPage(
      reply,
      200,
      accountPage({
        username: user?.username ?? '',
        csrf: ctx.session.csrf,
        account: await callApi(app, ctx.credentials, 'GET', `/accounts/accounts/${accountId}`),
        transactions: await callApi(
          app,
          ctx.credentials,
          'GET',
          `/transactions/transactions?account=${accountId}&start=${start}&limit=25`,
        ),
        accountId,
      }),
    );
  });
}
