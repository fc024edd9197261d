import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { AppError, isAppError } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import { safeEqualHex, sha256Hex } from '../../lib/hash.ts';
import { isOpaqueId, randomBase62 } from '../../lib/ids.ts';
import type { SafeHtml } from '../../web/html.ts';
import {
  apiReferencePage,
  apisPage,
  applicationPage,
  dashboardPage,
  errorPage,
  type FreshSecrets,
  invitationPage,
  landingPage,
  organizationPage,
  portalLayout,
  type Series,
  usageCharts,
} from '../../web/portal/pages.ts';
import type { ApiModule, OpenApiDocument } from '../gateway/contract.ts';
import type { Identity } from '../identity/index.ts';
import type { ModuleContext } from '../module-context.ts';
import { PORTAL_CLIENT_ID } from '../oauth/index.ts';
import { type Access, type Actor, actorFromScopes } from './access.ts';
import type { ApiKeys } from './api-keys-service.ts';
import type { Applications } from './applications-service.ts';
import {
  ALL_SCOPES,
  type AppKind,
  type AppState,
  DEFAULT_SCOPES,
  type Environment,
  type MemberRole,
} from './model.ts';
import type { Organizations } from './organizations-service.ts';
import type { Plans } from './plans-service.ts';
import type { PortalSessions } from './portal-sessions-service.ts';
import type { UsageReports } from './usage-reports.ts';

const SESSION_COOKIE = '__Host-sr-portal';
const LOGIN_COOKIE = '__Host-sr-portal-login';
const SESSION_TTL_MS = 8 * 3600 * 1000;
const LOGIN_TTL_MS = 10 * 60 * 1000;
const FLASH_TTL_MS = 5 * 60 * 1000;
const POSTS_PER_MINUTE = 60;

interface Session {
  idHash: string;
  userId: string;
  username: string;
  scopes: string[];
  csrf: string;
  actor: Actor;
}

export interface PortalDeps {
  context: ModuleContext;
  access: Access;
  organizations: Organizations;
  applications: Applications;
  apiKeys: ApiKeys;
  plans: Plans;
  usageReports: UsageReports;
  portalSessions: PortalSessions;
  identity: Identity;
  tokenAuthority: { issuer: string; audience: string; jwks(): Promise<{ keys: Record<string, unknown>[] }> };
  /** Every API the gateway serves (for the API reference and the application form). */
  apiCatalog: () => ApiModule[];
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) out[part.slice(0, index).trim()] = decodeURIComponent(part.slice(index + 1).trim());
  }
  return out;
}

const cookie = (name: string, value: string, maxAgeSeconds: number) =>
  `${name}=${encodeURIComponent(value)}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}`;

function lines(value: unknown): string[] {
  return String(value ?? '')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return value === undefined ? [] : [String(value)];
}

/** Reads a static file of an npm package once (the API reference renderer). */
function packageFile(pkg: string, file: string): Buffer | undefined {
  try {
    const require = createRequire(import.meta.url);
    return readFileSync(path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file));
  } catch {
    return undefined;
  }
}

/**
 * The developer portal under /portal: sign-in through the authorization server (the first-party `portal`
 * client, authorization code + PKCE, state checked), a server-side session (`__Host-` cookie, HttpOnly,
 * Secure, SameSite=Lax; only its hash is stored), CSRF tokens on every form, 303 after every POST.
 * Pages call the same services as the platform API handlers with the same actor, so the same
 * authorization rules apply.
 */
export function registerPortal(app: FastifyInstance, deps: PortalDeps): void {
  const { context, access, organizations, applications, apiKeys, identity } = deps;
  const { clock, sealer, shared, baseUrl, config } = context;
  const redirectUri = `${baseUrl}/portal/callback`;
  const frame = { institutionName: config.institutionName };

  const send = (
    reply: FastifyReply,
    status: number,
    title: string,
    body: SafeHtml,
    session?: Session,
    extra: Partial<Parameters<typeof portalLayout>[0]> = {},
  ) =>
    reply
      .code(status)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(
        portalLayout(
          {
            ...frame,
            title,
            user: session && { username: session.username, institution: session.actor.institution },
            csrf: session?.csrf,
            ...extra,
          },
          body,
        ),
      );

  async function loadSession(request: FastifyRequest): Promise<Session | undefined> {
    const token = parseCookies(request.headers.cookie)[SESSION_COOKIE];
    if (!token || token.length > 100) return undefined;
    const idHash = sha256Hex(token);
    const row = await deps.portalSessions.find(idHash);
    if (!row) return undefined;
    if (!(await identity.isActive(row.userId))) return undefined;
    request.logContext.userId = row.userId;
    return {
      idHash,
      userId: row.userId,
      username: row.username,
      scopes: row.scopes,
      csrf: row.csrfToken,
      actor: actorFromScopes(row.userId, row.scopes, request.id),
    };
  }

  async function requireSession(request: FastifyRequest, reply: FastifyReply): Promise<Session | undefined> {
    const session = await loadSession(request);
    if (!session) {
      const returnTo = (request.raw.url ?? '/portal').split('?')[0] ?? '/portal';
      await reply.redirect(`/portal/login?returnTo=${encodeURIComponent(returnTo)}`, 303);
      return undefined;
    }
    return session;
  }

  /** A POST must carry the session's CSRF token and must not come from another site. */
  function checkCsrf(request: FastifyRequest, session: Session, body: Record<string, unknown>) {
    const site = request.headers['sec-fetch-site'];
    const token = typeof body.csrf === 'string' ? body.csrf : '';
    if ((site && site !== 'same-origin' && site !== 'none') || !safeEqualHex(token, session.csrf)) {
      throw new AppError('forbidden', {
        detail: 'The form has expired. Reload the page and try again.',
        reason: 'csrf',
      });
    }
  }

  const flashKey = (session: Session) => `portal:flash:${session.idHash}`;
  async function setFlash(session: Session, value: Record<string, unknown>) {
    await shared.set(flashKey(session), sealer.seal(JSON.stringify(value), 'portal-flash'), FLASH_TTL_MS);
  }
  async function takeFlash(session: Session): Promise<Record<string, unknown> | undefined> {
    const sealed = await shared.get(flashKey(session));
    if (!sealed) return undefined;
    await shared.delete(flashKey(session));
    try {
      return JSON.parse(sealer.open(sealed, 'portal-flash')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  const documents = () => {
    const out = new Map<string, OpenApiDocument>();
    for (const api of deps.apiCatalog()) {
      // APIs whose root is not public (admin APIs) are not listed to developers.
      if (api.document['x-strongroom-public-security'] !== undefined) continue;
      out.set(api.name, api.document);
    }
    return out;
  };

  // ---- static: the OpenAPI renderer, served from the package (read once) --------------------------
  const swaggerJs = packageFile('swagger-ui-dist', 'swagger-ui-bundle.js');
  const swaggerCss = packageFile('swagger-ui-dist', 'swagger-ui.css');
  const staticFile =
    (body: Buffer | undefined, type: string) => async (_request: FastifyRequest, reply: FastifyReply) =>
      body
        ? reply.header('cache-control', 'public, max-age=86400').type(type).send(body)
        : reply.callNotFound();
  app.get(
    '/static/portal/swagger-ui/swagger-ui-bundle.js',
    staticFile(swaggerJs, 'text/javascript; charset=utf-8'),
  );
  app.get('/static/portal/swagger-ui/swagger-ui.css', staticFile(swaggerCss, 'text/css; charset=utf-8'));

  app.register(async (scope) => {
    // HTML forms: a small urlencoded parser (repeated fields become arrays).
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 64 * 1024 },
      (_request, body, done) => {
        const out: Record<string, string | string[]> = {};
        for (const [key, value] of new URLSearchParams(body as string)) {
          const existing = out[key];
          out[key] =
            existing === undefined
              ? value
              : Array.isArray(existing)
                ? [...existing, value]
                : [existing, value];
        }
        done(null, out);
      },
    );

    // Sensitive flows (key and application creation, invitations) are throttled per user (or address):
    // generous for people, a wall for scripts.
    const postLimiter = shared.rateLimiter({
      points: POSTS_PER_MINUTE,
      duration: 60,
      keyPrefix: 'portal-post',
    });
    scope.addHook('preHandler', async (request) => {
      if (request.method !== 'POST') return;
      const who = (await loadSession(request))?.userId ?? `ip:${request.ip}`;
      try {
        await postLimiter.consume(who);
      } catch (rejection) {
        if (rejection instanceof Error) throw rejection;
        const seconds = Math.max(
          1,
          Math.ceil(((rejection as { msBeforeNext?: number }).msBeforeNext ?? 1000) / 1000),
        );
        throw new AppError('tooManyRequests', {
          detail: `Too many changes in a short time. Try again in ${seconds} s.`,
          headers: { 'retry-after': String(seconds) },
          reason: 'portalPostLimit',
        });
      }
    });

    scope.setErrorHandler(async (error, request, reply) => {
      const appError = isAppError(error) ? error : undefined;
      const status =
        appError?.status ??
        ((error as { statusCode?: number }).statusCode && (error as { statusCode: number }).statusCode < 500
          ? (error as { statusCode: number }).statusCode
          : 500);
      if (status >= 500) request.log.error({ err: error, requestId: request.id }, 'portal request failed');
      if (appError?.reason) request.logContext.refusal = appError.reason;
      const detail =
        status >= 500
          ? `Something went wrong. Quote ${request.id} when contacting support.`
          : (appError?.detail ?? 'The request cannot be processed.') +
            (appError?.errors?.length
              ? ` (${appError.errors.map((e) => `${e.name}: ${e.message}`).join('; ')})`
              : '');
      if (appError?.headers) reply.headers(appError.headers);
      const title =
        status === 429
          ? 'Slow down'
          : status === 404
            ? 'Not found'
            : status === 403
              ? 'Not allowed'
              : status >= 500
                ? 'Error'
                : 'Cannot do that';
      return send(
        reply,
        status,
        title,
        errorPage({ status, title, detail }),
        await loadSession(request).catch(() => undefined),
      );
    });

    // ---- sign-in -------------------------------------------------------------------------------
    scope.get('/portal/login', async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const returnTo =
        query.returnTo && /^\/portal(\/[A-Za-z0-9_\-/.]*)?$/.test(query.returnTo)
          ? query.returnTo
          : '/portal';
      const state = randomBase62(32);
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const sealed = sealer.seal(
        JSON.stringify({ state, verifier, returnTo, exp: clock.now() + LOGIN_TTL_MS }),
        'portal-login',
      );
      const params = new URLSearchParams({
        client_id: PORTAL_CLIENT_ID,
        response_type: 'code',
        redirect_uri: redirectUri,
        scope: 'openid admin/read admin/write admin/full',
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      reply.header('set-cookie', cookie(LOGIN_COOKIE, sealed, LOGIN_TTL_MS / 1000));
      return reply.redirect(`/auth/oauth2/authorize?${params}`, 303);
    });

    scope.get('/portal/callback', async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const sealed = parseCookies(request.headers.cookie)[LOGIN_COOKIE];
      let login: { state: string; verifier: string; returnTo: string; exp: number } | undefined;
      try {
        login = sealed ? JSON.parse(sealer.open(sealed, 'portal-login')) : undefined;
      } catch {
        login = undefined;
      }
      reply.header('set-cookie', cookie(LOGIN_COOKIE, '', 0));
      if (
        !login ||
        login.exp <= clock.now() ||
        typeof query.state !== 'string' ||
        query.state !== login.state
      ) {
        throw new AppError('badRequest', {
          detail: 'The sign-in did not complete (missing or mismatched state). Please sign in again.',
          reason: 'portalState',
        });
      }
      if (query.error || !query.code) {
        throw new AppError('badRequest', {
          detail: 'The sign-in was cancelled or refused.',
          reason: `portalAuthorize:${query.error ?? 'noCode'}`,
        });
      }
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
      const tokens = tokenResponse.json() as { access_token: string };
      const { payload } = await jwtVerify(
        tokens.access_token,
        createLocalJWKSet((await deps.tokenAuthority.jwks()) as never),
        {
          issuer: deps.tokenAuthority.issuer,
          audience: deps.tokenAuthority.audience,
          typ: 'at+jwt',
        },
      );
      const userId = String(payload.sub);
      const user = await identity.getUser(userId);
      if (!user) throw new AppError('forbidden', { detail: 'This account cannot use the portal.' });
      const scopes = String(payload.scope ?? '')
        .split(' ')
        .filter(Boolean);
      const token = randomBase62(43);
      await deps.portalSessions.insert({
        idHash: sha256Hex(token),
        userId,
        username: user.username,
        scopes,
        csrfToken: randomBase62(32),
        createdAt: isoAt(clock.now()),
        expiresAt: isoAt(clock.now() + SESSION_TTL_MS),
      });
      reply.header('set-cookie', [
        cookie(LOGIN_COOKIE, '', 0),
        cookie(SESSION_COOKIE, token, SESSION_TTL_MS / 1000),
      ]);
      return reply.redirect(login.returnTo, 303);
    });

    scope.post('/portal/logout', async (request, reply) => {
      const session = await loadSession(request);
      if (session) {
        checkCsrf(request, session, (request.body ?? {}) as Record<string, unknown>);
        await deps.portalSessions.delete(session.idHash);
      }
      reply.header('set-cookie', cookie(SESSION_COOKIE, '', 0));
      return reply.redirect('/portal', 303);
    });

    // ---- dashboard and organizations -------------------------------------------------------------
    const dashboard = async (request: FastifyRequest, reply: FastifyReply) => {
      const session = await loadSession(request);
      if (!session) return send(reply, 200, 'Welcome', landingPage({ registerUrl: '/auth/register' }));
      const roles = await organizations.rolesOf(session.userId);
      const orgs = await organizations.list(session.actor);
      const apps = await applications.list({}, session.actor);
      const pendingKeys = session.actor.institution
        ? (await apiKeys.list({}, session.actor))
            .filter((k) => k.state === 'pending')
            .map((k) => ({
              ...k,
              applicationId: k.clientApplicationId,
              applicationName:
                apps.find((a) => a.id === k.clientApplicationId)?.name ?? k.clientApplicationId,
            }))
        : [];
      return send(
        reply,
        200,
        'Dashboard',
        dashboardPage({
          csrf: session.csrf,
          institution: session.actor.institution,
          pendingKeys,
          organizations: orgs.map((org) => ({
            id: org.id,
            name: org.name,
            role: roles.get(org.id) ?? 'institution',
            applications: apps.filter((a) => a.organizationId === org.id),
          })),
        }),
        session,
      );
    };
    scope.get('/portal', dashboard);
    scope.get('/portal/', dashboard);

    const formOf = (request: FastifyRequest, session: Session) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      checkCsrf(request, session, body);
      return body;
    };

    scope.post('/portal/organizations', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const body = formOf(request, session);
      const org = await organizations.create(
        { name: String(body.name ?? ''), owner: { userId: session.userId, displayName: session.username } },
        session.actor,
      );
      return reply.redirect(`/portal/organizations/${org.id}`, 303);
    });

    const idParam = (request: FastifyRequest, name: string) => {
      const value = (request.params as Record<string, string>)[name];
      if (!isOpaqueId(value)) throw new AppError('notFound', { detail: 'There is nothing at this address.' });
      return value;
    };

    scope.get('/portal/organizations/:orgId', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const orgId = idParam(request, 'orgId');
      const org = await organizations.get(orgId, session.actor);
      const role = (await organizations.rolesOf(session.userId)).get(orgId);
      const canManage = session.actor.institution || role === 'owner' || role === 'admin';
      const flash = await takeFlash(session);
      const apps = await applications.list({ organizationId: orgId }, session.actor);
      return send(
        reply,
        200,
        org.name,
        organizationPage({
          csrf: session.csrf,
          org,
          role: role ?? 'institution',
          canManage,
          members: await organizations.members(orgId, session.actor),
          invitations: canManage ? await organizations.openInvitations(orgId, session.actor) : [],
          invitationLink: typeof flash?.invitationLink === 'string' ? flash.invitationLink : undefined,
          applications: apps,
          apis: [...documents()].map(([name, doc]) => ({ name, title: doc.info.title })),
        }),
        session,
      );
    });

    scope.post('/portal/organizations/:orgId/invitations', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const orgId = idParam(request, 'orgId');
      const body = formOf(request, session);
      const invitation = await organizations.invite(
        orgId,
        String(body.role ?? 'developer') as MemberRole,
        session.actor,
      );
      await setFlash(session, { invitationLink: invitation.link });
      return reply.redirect(`/portal/organizations/${orgId}`, 303);
    });

    scope.post('/portal/organizations/:orgId/applications', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const orgId = idParam(request, 'orgId');
      const body = formOf(request, session);
      const kind = String(body.kind ?? 'web') as AppKind;
      const apis = list(body.apis);
      const created = await applications.create(
        {
          organizationId: orgId,
          name: String(body.name ?? ''),
          description: String(body.description ?? ''),
          kind,
          redirectUris: kind === 'service' ? [] : lines(body.redirectUris),
          corsOrigins: kind === 'spa' ? lines(body.corsOrigins) : [],
          apis: apis.length > 0 ? apis : [],
        },
        session.actor,
      );
      await setFlash(session, {
        applicationId: created.application.id,
        clientSecret: created.clientSecret,
        apiKey: created.apiKey && { id: created.apiKey.id, key: created.apiKey.key },
      });
      return reply.redirect(`/portal/applications/${created.application.id}`, 303);
    });

    // ---- applications and keys -----------------------------------------------------------------
    scope.get('/portal/applications/:appId', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const appId = idParam(request, 'appId');
      const application = await applications.get(appId, session.actor);
      const view = await applications.view(application);
      const keys = await apiKeys.list({ clientApplicationId: appId }, session.actor);
      const flash = await takeFlash(session);
      const fresh: FreshSecrets | undefined =
        flash && flash.applicationId === appId
          ? {
              clientSecret: typeof flash.clientSecret === 'string' ? flash.clientSecret : undefined,
              apiKey: flash.apiKey as FreshSecrets['apiKey'],
              note: typeof flash.note === 'string' ? flash.note : undefined,
            }
          : undefined;
      const role = (await organizations.rolesOf(session.userId)).get(application.organizationId);
      return send(
        reply,
        200,
        view.name,
        applicationPage({
          csrf: session.csrf,
          app: view,
          keys,
          fresh,
          canManage: session.actor.institution || role === 'owner' || role === 'admin',
          institution: session.actor.institution,
          charts: await charts(keys.map((k) => k.id)),
          apiChoices: [...documents()].map(([name, doc]) => ({ name, title: doc.info.title })),
          allScopes: ALL_SCOPES,
          defaultScopes: DEFAULT_SCOPES,
          ratePlans: (await deps.plans.list()).map((p) => p.name),
        }),
        session,
      );
    });

    async function charts(keyIds: string[]) {
      const { days, items: rows } = await deps.usageReports.daily(keyIds, 14);
      const perDay: Series[] = days.map((d) => ({
        label: d.slice(5, 10),
        value: rows.filter((r) => r.bucket === d).reduce((s, r) => s + r.count, 0),
      }));
      const rateLimitedPerDay: Series[] = days.map((d) => ({
        label: d.slice(5, 10),
        value: rows.filter((r) => r.bucket === d && r.status === 429).reduce((s, r) => s + r.count, 0),
      }));
      const statuses = [...new Set(rows.filter((r) => r.status >= 400).map((r) => r.status))].sort();
      const errorsByStatus: Series[] = statuses.map((status) => ({
        label: String(status),
        value: rows.filter((r) => r.status === status).reduce((s, r) => s + r.count, 0),
      }));
      return usageCharts({ perDay, errorsByStatus, rateLimitedPerDay });
    }

    scope.post('/portal/applications/:appId/keys', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const appId = idParam(request, 'appId');
      const body = formOf(request, session);
      const created = await apiKeys.create(
        { clientApplicationId: appId, label: String(body.label ?? '') },
        session.actor,
      );
      await setFlash(session, {
        applicationId: appId,
        apiKey: { id: created.view.id, key: created.key },
        note:
          created.view.state === 'pending'
            ? 'This production key works once the institution approves it.'
            : undefined,
      });
      return reply.redirect(`/portal/applications/${appId}`, 303);
    });

    scope.post('/portal/applications/:appId/secret', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const appId = idParam(request, 'appId');
      const body = formOf(request, session);
      const rotated = await applications.rotateSecret(
        appId,
        Number(body.overlapSeconds ?? 86_400),
        session.actor,
      );
      await setFlash(session, {
        applicationId: appId,
        clientSecret: rotated.clientSecret,
        note: `The previous secret works until ${rotated.previousExpiresAt}.`,
      });
      return reply.redirect(`/portal/applications/${appId}`, 303);
    });

    scope.post('/portal/applications/:appId/settings', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const appId = idParam(request, 'appId');
      const body = formOf(request, session);
      const current = await applications.get(appId, session.actor);
      const apis = list(body.apis);
      const allApis = [...documents().keys()];
      await applications.update(
        appId,
        {
          name: String(body.name ?? current.name),
          description: String(body.description ?? ''),
          ...(current.kind !== 'service' ? { redirectUris: lines(body.redirectUris) } : {}),
          ...(current.kind === 'spa' ? { corsOrigins: lines(body.corsOrigins) } : {}),
          apis: allApis.every((a) => apis.includes(a)) ? ['*'] : apis,
          scopes: list(body.scopes),
        },
        session.actor,
      );
      return reply.redirect(`/portal/applications/${appId}`, 303);
    });

    scope.post('/portal/applications/:appId/institution', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const appId = idParam(request, 'appId');
      const body = formOf(request, session);
      access.requireInstitution(session.actor, 'change privileged fields');
      const current = await applications.get(appId, session.actor);
      const state = String(body.state ?? current.state) as AppState;
      const reason = String(body.stateReason ?? '').trim();
      await applications.update(
        appId,
        {
          environment: String(body.environment ?? current.environment) as Environment,
          ratePlan: String(body.ratePlan ?? ''),
          ...(state !== current.state
            ? { state, stateReason: reason || `changed in the portal by ${session.username}` }
            : {}),
        },
        session.actor,
      );
      return reply.redirect(`/portal/applications/${appId}`, 303);
    });

    scope.post('/portal/applications/:appId/delete', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const appId = idParam(request, 'appId');
      const body = formOf(request, session);
      if (body.confirm !== 'yes')
        throw new AppError('badRequest', { detail: 'Tick "I understand" to delete the application.' });
      const deleted = await applications.setState(
        appId,
        'deleted',
        `deleted in the portal by ${session.username}`,
        session.actor,
      );
      return reply.redirect(`/portal/organizations/${deleted.organizationId}`, 303);
    });

    const keyAction =
      (action: 'rotate' | 'revoke' | 'activate') => async (request: FastifyRequest, reply: FastifyReply) => {
        const session = await requireSession(request, reply);
        if (!session) return reply;
        const keyId = idParam(request, 'keyId');
        const body = formOf(request, session);
        const key = await apiKeys.get(keyId, session.actor);
        if (action === 'rotate') {
          const rotated = await apiKeys.rotate(
            keyId,
            { overlapSeconds: Number(body.overlapSeconds ?? 86_400) },
            session.actor,
          );
          await setFlash(session, {
            applicationId: key.clientApplicationId,
            apiKey: { id: rotated.view.id, key: rotated.key },
            note: `The previous key ${key.prefix}…${key.last4} works until ${rotated.previous.expiresAt}.`,
          });
        } else if (action === 'revoke') {
          await apiKeys.revoke(keyId, `revoked in the portal by ${session.username}`, session.actor);
        } else {
          await apiKeys.activate(keyId, `activated in the portal by ${session.username}`, session.actor);
        }
        return reply.redirect(`/portal/applications/${key.clientApplicationId}`, 303);
      };
    scope.post('/portal/keys/:keyId/rotate', keyAction('rotate'));
    scope.post('/portal/keys/:keyId/revoke', keyAction('revoke'));
    scope.post('/portal/keys/:keyId/activate', keyAction('activate'));

    // ---- invitations ---------------------------------------------------------------------------
    scope.get('/portal/invitations/:token', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const token = idParam(request, 'token');
      return send(reply, 200, 'Invitation', invitationPage({ csrf: session.csrf, token }), session);
    });
    scope.post('/portal/invitations/:token', async (request, reply) => {
      const session = await requireSession(request, reply);
      if (!session) return reply;
      const token = idParam(request, 'token');
      formOf(request, session);
      const org = await organizations.accept(token, {
        userId: session.userId,
        displayName: session.username,
      });
      return reply.redirect(`/portal/organizations/${org.id}`, 303);
    });

    // ---- API reference -------------------------------------------------------------------------
    scope.get('/portal/apis', async (request, reply) => {
      const session = await loadSession(request);
      const apis = [...documents()].map(([name, doc]) => ({
        name,
        title: doc.info.title,
        summary: String((doc.info as Record<string, unknown>).summary ?? ''),
      }));
      return send(reply, 200, 'API reference', apisPage({ apis }), session);
    });
    scope.get('/portal/apis/:name', async (request, reply) => {
      const session = await loadSession(request);
      const name = idParam(request, 'name');
      const doc = documents().get(name);
      if (!doc) throw new AppError('notFound', { detail: 'There is no such API.' });
      return send(reply, 200, doc.info.title, apiReferencePage({ name, title: doc.info.title }), session, {
        head: htmlLink('/static/portal/swagger-ui/swagger-ui.css'),
        scripts: ['/static/portal/swagger-ui/swagger-ui-bundle.js', '/static/portal-apidoc.js'],
      });
    });
    scope.get('/portal/apis/:name/openapi.json', async (request, reply) => {
      const name = idParam(request, 'name');
      const doc = documents().get(name);
      if (!doc) throw new AppError('notFound', { detail: 'There is no such API.' });
      return reply
        .header('cache-control', 'no-cache')
        .type('application/json')
        .send({ ...doc, servers: [{ url: `${baseUrl}/${name}`, description: config.institutionName }] });
    });
  });
}

function htmlLink(href: string): SafeHtml {
  const safe = href.replace(/[^A-Za-z0-9/._-]/g, '');
  return {
    __html: `<link rel="stylesheet" href="${safe}">`,
    toString: () => `<link rel="stylesheet" href="${safe}">`,
  };
}
