import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { AppError } from '../../../errors/index.ts';
import { postForm } from '../../../http/web/index.ts';
import { randomBase62 } from '../../../lib/ids.ts';
import { PORTAL_CLIENT_ID } from '../../oauth/index.ts';
import type { Portal } from './portal-context.ts';
import { forms } from './portal-forms.ts';

const LOGIN_COOKIE = '__Host-sr-portal-login';
const LOGIN_TTL_MS = 10 * 60 * 1000;
const LOGIN_COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'lax' } as const;
/** Where a sign-in may return to: a portal path, never another site (`//evil.test`, `/\evil.test`). */
const RETURN_TO = /^\/portal(\/[A-Za-z0-9_\-/.]*)?$/;

interface LoginState {
  state: string;
  verifier: string;
  returnTo: string;
  exp: number;
}

/**
 * Sign-in through the authorization server as the first-party `portal` client (authorization code + PKCE,
 * `state` checked against a sealed `__Host-` cookie), a new session at sign-in, and sign-out.
 */
export function registerSignIn(scope: FastifyInstance, portal: Portal, app: FastifyInstance): void {
  const { context, identity, tokenAuthority } = portal.deps;
  const { clock, sealer, baseUrl } = context;
  const redirectUri = `${baseUrl}/portal/callback`;

  scope.get('/portal/login', async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const returnTo = query.returnTo && RETURN_TO.test(query.returnTo) ? query.returnTo : '/portal';
    const state = randomBase62(32);
    const verifier = randomBytes(32).toString('base64url');
    const login: LoginState = { state, verifier, returnTo, exp: clock.now() + LOGIN_TTL_MS };
    reply.setCookie(LOGIN_COOKIE, sealer.seal(JSON.stringify(login), 'portal-login'), {
      ...LOGIN_COOKIE_OPTIONS,
      maxAge: LOGIN_TTL_MS / 1000,
    });
    const params = new URLSearchParams({
      client_id: PORTAL_CLIENT_ID,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: 'openid admin/read admin/write admin/full',
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    return reply.redirect(`/auth/oauth2/authorize?${params}`, 303);
  });

  scope.get('/portal/callback', async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const login = openLogin(request.cookies[LOGIN_COOKIE]);
    reply.clearCookie(LOGIN_COOKIE, LOGIN_COOKIE_OPTIONS);
    if (!login || login.exp <= clock.now() || typeof query.state !== 'string' || query.state !== login.state)
      throw new AppError('badRequest', {
        detail: 'The sign-in did not complete (missing or mismatched state). Please sign in again.',
        reason: 'portalState',
      });
    if (query.error || !query.code)
      throw new AppError('badRequest', {
        detail: 'The sign-in was cancelled or refused.',
        reason: `portalAuthorize:${query.error ?? 'noCode'}`,
      });
    // The token request goes to our own authorization server in-process: no network, same checks.
    const tokenResponse = await app.inject({
      method: 'POST',
      url: '/auth/oauth2/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'authorization_code',
        code: query.code,
        redirect_uri: redirectUri,
        client_id: PORTAL_CLIENT_ID,
        code_verifier: login.verifier,
      }).toString(),
    });
    if (tokenResponse.statusCode !== 200) {
      request.log.warn({ status: tokenResponse.statusCode }, 'portal token exchange failed');
      throw new AppError('badRequest', {
        detail: 'The sign-in could not be completed. Please sign in again.',
        reason: 'portalToken',
      });
    }
    const { access_token: accessToken } = tokenResponse.json() as { access_token: string };
    const { payload } = await jwtVerify(
      accessToken,
      createLocalJWKSet((await tokenAuthority.jwks()) as never),
      { issuer: tokenAuthority.issuer, audience: tokenAuthority.audience, typ: 'at+jwt' },
    );
    const userId = String(payload.sub);
    const user = await identity.getUser(userId);
    if (!user) throw new AppError('forbidden', { detail: 'This account cannot use the portal.' });
    const scopes = String(payload.scope ?? '')
      .split(' ')
      .filter(Boolean);
    // A new session id at sign-in (no fixation): whatever session the browser had ends here.
    await portal.sessions.rotate(request, reply, { userId, username: user.username, scopes });
    return reply.redirect(login.returnTo, 303);
  });

  function openLogin(sealed: string | undefined): LoginState | undefined {
    if (!sealed) return undefined;
    try {
      return JSON.parse(sealer.open(sealed, 'portal-login')) as LoginState;
    } catch {
      return undefined;
    }
  }
}

/** Sign-out (a signed-in route: a stale sign-out form just lands on the portal). */
export function registerSignOut(signedIn: FastifyInstance, portal: Portal): void {
  postForm(signedIn, '/portal/logout', forms.button, async (request, reply) => {
    await portal.sessions.destroy(request, reply);
    return reply.redirect('/portal', 303);
  });
}
