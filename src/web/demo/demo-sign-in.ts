import type { FastifyInstance } from 'fastify';
import * as oidc from 'openid-client';
import { form, postForm, sendPage } from '../../http/web/index.ts';
import { safeEqualHex } from '../../lib/hash.ts';
import { DEFAULT_SCOPES } from '../../modules/identity/index.ts';
import { notConfiguredPage, signedOutPage } from './demo-pages.ts';
import type { DemoRuntime, DemoSession, DemoSetup } from './demo-session.ts';

/** Scopes the demo asks for; the authorization server narrows them to what the user's roles allow. */
const REQUESTED_SCOPES = [...DEFAULT_SCOPES, 'data/read', 'data/write'];
/** Refresh the access token when it has less than this left. */
const REFRESH_MARGIN_MS = 60_000;

const emptyForm = form({});

const redirectUriOf = (runtime: DemoRuntime, setup: DemoSetup) =>
  setup.demo.apps.backOffice?.redirectUri ?? `${runtime.context.baseUrl}/demo/callback`;

/**
 * Sign-in and sign-out of the /demo/ client: the authorization-code flow with PKCE and `state` against the
 * platform's own authorization server, as the backOffice application. The session id changes at sign-in.
 */
export function registerDemoSignIn(scope: FastifyInstance, runtime: DemoRuntime): void {
  const { context, sessions } = runtime;

  postForm(scope, '/demo/login', emptyForm, async (request, reply) => {
    const setup = await runtime.setup();
    if (!setup) return sendPage(reply, 200, notConfiguredPage());
    const session = await runtime.sessionOf(request, reply);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    session.data.pending = { state, verifier, startedAt: context.clock.now() };
    await sessions.save(session);
    const url = oidc.buildAuthorizationUrl(setup.oidc, {
      redirect_uri: redirectUriOf(runtime, setup),
      scope: REQUESTED_SCOPES.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    return reply.redirect(url.href, 303);
  });

  scope.get('/demo/callback', async (request, reply) => {
    const setup = await runtime.setup();
    if (!setup) return sendPage(reply, 200, notConfiguredPage());
    const session = await runtime.sessionOf(request, reply);
    const pending = session.data.pending;
    const query = request.query as Record<string, string | undefined>;
    const refuse = async (message: string) => {
      await sessions.save(session);
      return sendPage(reply, 400, signedOutPage(setup.demo, session.csrf, message));
    };
    if (!pending || typeof query.state !== 'string' || !safeEqualHex(query.state, pending.state))
      return refuse('That sign-in link is not valid for this browser session; start again.');
    session.data.pending = undefined;
    if (query.error) return refuse(`The authorization server answered: ${query.error}`);
    try {
      const current = new URL(redirectUriOf(runtime, setup));
      current.search = new URL(request.url, context.baseUrl).search;
      const tokens = await oidc.authorizationCodeGrant(setup.oidc, current, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
      });
      const claims = JSON.parse(
        Buffer.from(tokens.access_token.split('.')[1] ?? '', 'base64url').toString('utf8'),
      ) as { sub?: string };
      // A new session id at sign-in (no fixation); the anonymous session is destroyed.
      await sessions.rotate(request, reply, {
        userId: claims.sub,
        tokens: {
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token,
          expiresAt: context.clock.now() + (tokens.expiresIn() ?? 300) * 1000,
          scope: tokens.scope ?? '',
        },
      });
      return reply.redirect('/demo/', 303);
    } catch (error) {
      context.logger.info({ err: error }, 'demo: code exchange failed');
      return refuse('The sign-in could not be completed; start again.');
    }
  });

  postForm(scope, '/demo/logout', emptyForm, async (request, reply) => {
    await sessions.destroy(request, reply);
    return reply.redirect('/demo/', 303);
  });
}

/** The session's access token, refreshed shortly before it expires; undefined when signed out. */
export async function accessToken(
  runtime: DemoRuntime,
  session: DemoSession,
  setup: DemoSetup,
): Promise<string | undefined> {
  const { clock, logger } = runtime.context;
  const tokens = session.data.tokens;
  if (!tokens) return undefined;
  if (tokens.expiresAt - clock.now() > REFRESH_MARGIN_MS || !tokens.refreshToken) return tokens.accessToken;
  try {
    const refreshed = await oidc.refreshTokenGrant(setup.oidc, tokens.refreshToken);
    session.data.tokens = {
      accessToken: refreshed.access_token,
      refreshToken: refreshed.refresh_token ?? tokens.refreshToken,
      expiresAt: clock.now() + (refreshed.expiresIn() ?? 300) * 1000,
      scope: refreshed.scope ?? tokens.scope,
    };
    await runtime.sessions.save(session);
    return session.data.tokens.accessToken;
  } catch (error) {
    logger.info({ err: error }, 'demo: token refresh failed; signing out');
    session.data = {};
    await runtime.sessions.save(session);
    return undefined;
  }
}
