import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { dateIn } from '../../banking/calendar.ts';
import { type DemoDocument, readDemoFile } from '../../demo/demo-file.ts';
import type { ModuleContext } from '../../modules/module-context.ts';
import { html } from '../html.ts';
import { type ApiAnswer, callApi, discover } from './demo-api.ts';
import {
  accountPage,
  answerBlock,
  homePage,
  layout,
  notConfiguredPage,
  signedOutPage,
} from './demo-pages.ts';
import { createDemoSessions, csrfMatches, type DemoSession } from './demo-session.ts';

/** Scopes the demo asks for; the authorization server narrows them to what the user's roles allow. */
const REQUESTED_SCOPES = [
  'banking/read',
  'banking/readBalance',
  'banking/write',
  'banking/delete',
  'profile/read',
  'profile/write',
  'data/read',
  'data/write',
];
/** Refresh the access token when it has less than this left. */
const REFRESH_MARGIN_MS = 60_000;
const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The /demo/ browser client: a small back-office web app that IS the demo institution's `backOffice`
 * application. It reads its credentials from demo.json, signs a demo user in through the real
 * authorization-code flow with PKCE, keeps the tokens server-side, and calls the APIs through the gateway.
 */
export function registerDemoClient(app: FastifyInstance, context: ModuleContext): void {
  const sessions = createDemoSessions({
    shared: context.shared,
    sealer: context.sealer,
    now: () => context.clock.now(),
  });
  let configuration: { demo: DemoDocument; oidc: oidc.Configuration } | undefined;

  async function setup(): Promise<{ demo: DemoDocument; oidc: oidc.Configuration } | undefined> {
    const demo = await readDemoFile(context.config.dataDir);
    const backOffice = demo?.apps.backOffice;
    if (!demo || !backOffice) return undefined;
    if (!configuration || configuration.demo.apps.backOffice?.apiKey !== backOffice.apiKey) {
      configuration = { demo, oidc: await discover(`${context.baseUrl}/auth`, backOffice, demo.caCertFile) };
    } else configuration.demo = demo;
    return configuration;
  }

  const sendPage = (reply: FastifyReply, status: number, page: string) =>
    reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page);

  async function sessionOf(request: FastifyRequest, reply: FastifyReply): Promise<DemoSession> {
    const existing = await sessions.load(request.headers.cookie);
    if (existing) return existing;
    const session = sessions.create();
    await sessions.save(session);
    reply.header('set-cookie', sessions.cookie(session));
    return session;
  }

  /** A POST must carry the session's CSRF token and must not come from another site. */
  function checkForm(request: FastifyRequest, session: DemoSession): boolean {
    const site = request.headers['sec-fetch-site'];
    if (site && site !== 'same-origin' && site !== 'none') return false;
    // With `Referrer-Policy: no-referrer` browsers send `Origin: null` on same-origin form posts; the
    // session-bound token is what proves the form came from our page.
    const origin = request.headers.origin;
    if (origin && origin !== 'null' && origin !== context.baseUrl) return false;
    return csrfMatches(session.csrf, (request.body as Record<string, unknown> | undefined)?.csrf);
  }

  /** The session's access token, refreshed shortly before it expires; undefined when signed out. */
  async function accessToken(
    session: DemoSession,
    oidcConfig: oidc.Configuration,
  ): Promise<string | undefined> {
    const tokens = session.tokens;
    if (!tokens) return undefined;
    if (tokens.expiresAt - context.clock.now() > REFRESH_MARGIN_MS) return tokens.accessToken;
    if (!tokens.refreshToken) return tokens.accessToken;
    try {
      const refreshed = await oidc.refreshTokenGrant(oidcConfig, tokens.refreshToken);
      session.tokens = {
        accessToken: refreshed.access_token,
        refreshToken: refreshed.refresh_token ?? tokens.refreshToken,
        expiresAt: context.clock.now() + (refreshed.expiresIn() ?? 300) * 1000,
        scope: refreshed.scope ?? tokens.scope,
      };
      await sessions.save(session);
      return session.tokens.accessToken;
    } catch (error) {
      context.logger.info({ err: error }, 'demo: token refresh failed; signing out');
      session.tokens = undefined;
      session.userId = undefined;
      await sessions.save(session);
      return undefined;
    }
  }

  app.register(async (scope) => {
    if (!scope.hasContentTypeParser('application/x-www-form-urlencoded')) {
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 16 * 1024 },
        (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
      );
    }

    scope.get('/demo', (_request, reply) => reply.redirect('/demo/', 303));

    scope.get('/demo/', async (request, reply) => {
      const setupDone = await setup();
      if (!setupDone) return sendPage(reply, 200, notConfiguredPage());
      const { demo } = setupDone;
      const session = await sessionOf(request, reply);
      const token = await accessToken(session, setupDone.oidc);
      if (!token || !session.userId) return sendPage(reply, 200, signedOutPage(demo, session.csrf));
      const apiKey = demo.apps.backOffice?.apiKey ?? '';
      const credentials = { apiKey, accessToken: token };
      const accounts = await callApi(app, credentials, 'GET', '/accounts/accounts?limit=100');
      const items =
        accounts.status === 200
          ? (
              accounts.body as {
                items: { id: string; name: string; category: string; accountNumbers: { masked: string } }[];
              }
            ).items
          : [];
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
      const transfers = await callApi(app, credentials, 'GET', '/transfers/scheduledTransfers?limit=10');
      const applications = await callApi(
        app,
        credentials,
        'GET',
        '/accountApplications/accountApplications?limit=10',
      );
      const user = demo.users.find((u) => u.id === session.userId);
      const flash = session.flash;
      if (flash) {
        session.flash = undefined;
        await sessions.save(session);
      }
      return sendPage(
        reply,
        200,
        homePage({
          user: {
            username: user?.username ?? session.userId,
            persona: user?.persona ?? 'user',
            scopes: session.tokens?.scope ?? '',
          },
          csrf: session.csrf,
          accounts,
          accountViews,
          transfers,
          applications,
          flash,
          idempotencyKey: randomUUID(),
          today: dateIn(context.config.timeZone, context.clock.now()),
        }),
      );
    });

    scope.post('/demo/login', async (request, reply) => {
      const setupDone = await setup();
      if (!setupDone) return sendPage(reply, 200, notConfiguredPage());
      const session = await sessionOf(request, reply);
      if (!checkForm(request, session))
        return sendPage(
          reply,
          403,
          signedOutPage(setupDone.demo, session.csrf, 'The form expired; try again.'),
        );
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      session.pending = { state, verifier, startedAt: context.clock.now() };
      await sessions.save(session);
      const url = oidc.buildAuthorizationUrl(setupDone.oidc, {
        redirect_uri: setupDone.demo.apps.backOffice?.redirectUri ?? `${context.baseUrl}/demo/callback`,
        scope: REQUESTED_SCOPES.join(' '),
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      return reply.redirect(url.href, 303);
    });

    scope.get('/demo/callback', async (request, reply) => {
      const setupDone = await setup();
      if (!setupDone) return sendPage(reply, 200, notConfiguredPage());
      const session = await sessionOf(request, reply);
      const pending = session.pending;
      const query = request.query as Record<string, string | undefined>;
      if (!pending || typeof query.state !== 'string' || !csrfMatches(pending.state, query.state)) {
        return sendPage(
          reply,
          400,
          signedOutPage(
            setupDone.demo,
            session.csrf,
            'That sign-in link is not valid for this browser session; start again.',
          ),
        );
      }
      session.pending = undefined;
      if (query.error) {
        await sessions.save(session);
        return sendPage(
          reply,
          400,
          signedOutPage(setupDone.demo, session.csrf, `The authorization server answered: ${query.error}`),
        );
      }
      try {
        const redirectUri = setupDone.demo.apps.backOffice?.redirectUri ?? `${context.baseUrl}/demo/callback`;
        const current = new URL(redirectUri);
        current.search = new URL(request.url, context.baseUrl).search;
        const tokens = await oidc.authorizationCodeGrant(setupDone.oidc, current, {
          pkceCodeVerifier: pending.verifier,
          expectedState: pending.state,
        });
        const claims = JSON.parse(
          Buffer.from(tokens.access_token.split('.')[1] ?? '', 'base64url').toString('utf8'),
        ) as {
          sub?: string;
        };
        // The session id changes at sign-in (no fixation); the old one is destroyed.
        await sessions.destroy(session);
        const fresh = sessions.create();
        fresh.userId = claims.sub;
        fresh.tokens = {
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token,
          expiresAt: context.clock.now() + (tokens.expiresIn() ?? 300) * 1000,
          scope: tokens.scope ?? '',
        };
        await sessions.save(fresh);
        reply.header('set-cookie', sessions.cookie(fresh));
        return reply.redirect('/demo/', 303);
      } catch (error) {
        context.logger.info({ err: error }, 'demo: code exchange failed');
        await sessions.save(session);
        return sendPage(
          reply,
          400,
          signedOutPage(setupDone.demo, session.csrf, 'The sign-in could not be completed; start again.'),
        );
      }
    });

    scope.post('/demo/logout', async (request, reply) => {
      const session = await sessions.load(request.headers.cookie);
      if (session && checkForm(request, session)) await sessions.destroy(session);
      reply.header('set-cookie', sessions.clearCookie());
      return reply.redirect('/demo/', 303);
    });

    /** Common preamble of signed-in pages and forms. */
    async function signedIn(request: FastifyRequest, reply: FastifyReply, form: boolean) {
      const setupDone = await setup();
      if (!setupDone) {
        sendPage(reply, 200, notConfiguredPage());
        return undefined;
      }
      const session = await sessions.load(request.headers.cookie);
      if (!session || (form && !checkForm(request, session))) {
        reply.redirect('/demo/', 303);
        return undefined;
      }
      const token = await accessToken(session, setupDone.oidc);
      if (!token) {
        reply.redirect('/demo/', 303);
        return undefined;
      }
      const apiKey = setupDone.demo.apps.backOffice?.apiKey ?? '';
      return { session, demo: setupDone.demo, credentials: { apiKey, accessToken: token } };
    }

    async function flashAndReturn(
      reply: FastifyReply,
      session: DemoSession,
      title: string,
      answer: ApiAnswer,
    ) {
      session.flash = { title, status: answer.status, body: answer.body, request: answer.request };
      await sessions.save(session);
      return reply.redirect('/demo/', 303);
    }

    scope.get('/demo/accounts/:accountId', async (request, reply) => {
      const ctx = await signedIn(request, reply, false);
      if (!ctx) return reply;
      const { accountId } = request.params as { accountId: string };
      if (!ACCOUNT_ID.test(accountId)) return reply.callNotFound();
      const start = Math.max(0, Number((request.query as { start?: string }).start ?? 0) || 0);
      const account = await callApi(app, ctx.credentials, 'GET', `/accounts/accounts/${accountId}`);
      const transactions = await callApi(
        app,
        ctx.credentials,
        'GET',
        `/transactions/transactions?account=${accountId}&start=${start}&limit=25`,
      );
      const user = ctx.demo.users.find((u) => u.id === ctx.session.userId);
      return sendPage(
        reply,
        200,
        accountPage({
          username: user?.username ?? '',
          csrf: ctx.session.csrf,
          account,
          transactions,
          accountId,
        }),
      );
    });

    scope.post('/demo/transfers', async (request, reply) => {
      const ctx = await signedIn(request, reply, true);
      if (!ctx) return reply;
      const form = request.body as Record<string, string>;
      const body: Record<string, unknown> = {
        sourceAccount: { id: String(form.source ?? '').trim() },
        targetAccount: { id: String(form.target ?? '').trim() },
        amount: { value: String(form.amount ?? '').trim(), currency: 'USD' },
        schedule: { start: String(form.date ?? ''), frequency: 'once' },
      };
      if (form.memo) body.memo = String(form.memo).slice(0, 140);
      const answer = await callApi(app, ctx.credentials, 'POST', '/transfers/scheduledTransfers', {
        body,
        headers: { 'idempotency-key': String(form.idempotencyKey || randomUUID()).slice(0, 64) },
      });
      return flashAndReturn(
        reply,
        ctx.session,
        answer.status < 300 ? 'Transfer scheduled' : 'Transfer refused',
        answer,
      );
    });

    scope.post('/demo/transfers/:transferId/cancel', async (request, reply) => {
      const ctx = await signedIn(request, reply, true);
      if (!ctx) return reply;
      const { transferId } = request.params as { transferId: string };
      if (!ACCOUNT_ID.test(transferId)) return reply.callNotFound();
      const answer = await callApi(
        app,
        ctx.credentials,
        'DELETE',
        `/transfers/scheduledTransfers/${transferId}`,
      );
      return flashAndReturn(
        reply,
        ctx.session,
        answer.status < 300 ? 'Transfer canceled' : 'Cancel refused',
        answer,
      );
    });

    scope.post('/demo/applications/:applicationId/:decision', async (request, reply) => {
      const ctx = await signedIn(request, reply, true);
      if (!ctx) return reply;
      const { applicationId, decision } = request.params as { applicationId: string; decision: string };
      if (!ACCOUNT_ID.test(applicationId) || (decision !== 'approve' && decision !== 'reject')) {
        return reply.callNotFound();
      }
      const answer = await callApi(
        app,
        ctx.credentials,
        'POST',
        `/accountApplications/accountApplications/${applicationId}/${decision}`,
        { body: decision === 'reject' ? { reason: 'Rejected in the demo back office.' } : {} },
      );
      return flashAndReturn(
        reply,
        ctx.session,
        answer.status < 300
          ? `Application ${decision === 'approve' ? 'approved' : 'rejected'}`
          : 'Decision refused',
        answer,
      );
    });

    scope.post('/demo/try', async (request, reply) => {
      const ctx = await signedIn(request, reply, true);
      if (!ctx) return reply;
      const probe = String((request.body as Record<string, unknown>).probe ?? '');
      const accounts = await callApi(app, ctx.credentials, 'GET', '/accounts/accounts?limit=100');
      const ids =
        accounts.status === 200 ? (accounts.body as { items: { id: string }[] }).items.map((a) => a.id) : [];
      // Accounts of the demo institution that this user is not entitled to (from demo.json's entitlements).
      const everyAccount = ctx.demo.users.flatMap((u) =>
        u.entitlements.filter((e) => e.resource === 'account' && e.id !== '*').map((e) => e.id),
      );
      const foreign = everyAccount.find((id) => !ids.includes(id)) ?? 'acc_doesNotExist0000000';
      let answer: ApiAnswer;
      if (probe === 'balances') {
        answer = await callApi(
          app,
          ctx.credentials,
          'GET',
          `/accounts/accounts/${ids[0] ?? foreign}/balance`,
        );
      } else if (probe === 'transferOut') {
        const [from = foreign, to = foreign] = ids.length >= 2 ? ids.slice(-2) : [ids[0] ?? foreign, foreign];
        answer = await callApi(app, ctx.credentials, 'POST', '/transfers/scheduledTransfers', {
          body: {
            sourceAccount: { id: from },
            targetAccount: { id: to },
            amount: { value: '1.00', currency: 'USD' },
            schedule: { start: dateIn(context.config.timeZone, context.clock.now()) },
            memo: 'Demo probe',
          },
          headers: { 'idempotency-key': randomUUID() },
        });
      } else if (probe === 'otherAccount') {
        answer = await callApi(app, ctx.credentials, 'GET', `/accounts/accounts/${foreign}`);
      } else if (probe === 'unmasked') {
        answer = await callApi(
          app,
          ctx.credentials,
          'GET',
          `/accounts/accounts/${ids.at(-1) ?? foreign}?unmasked=true`,
        );
      } else if (probe === 'allApplications') {
        answer = await callApi(
          app,
          ctx.credentials,
          'GET',
          '/accountApplications/accountApplications?state=pending',
        );
      } else if (probe === 'noToken') {
        answer = await callApi(
          app,
          { apiKey: ctx.credentials.apiKey, accessToken: undefined },
          'GET',
          '/accounts/accounts',
        );
      } else {
        return reply.redirect('/demo/', 303);
      }
      return flashAndReturn(reply, ctx.session, 'What the gateway answered', answer);
    });
  });
}

/** Exported for tests that render a problem block. */
export const renderAnswer = (answer: ApiAnswer) => layout('Answer', html`${answerBlock(answer)}`);
