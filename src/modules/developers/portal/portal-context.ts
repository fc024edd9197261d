import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../errors/index.ts';
import { createFlash, createSessions, type Session, sendPage } from '../../../http/web/index.ts';
import { isOpaqueId } from '../../../lib/ids.ts';
import type { SafeHtml } from '../../../web/html.ts';
import { type PortalFrame, portalLayout } from '../../../web/portal/layout.ts';
import type { ApiModule, OpenApiDocument } from '../../gateway/contract.ts';
import type { Identity } from '../../identity/index.ts';
import type { ModuleContext } from '../../module-context.ts';
import { type Access, type Actor, actorFromScopes } from '../access.ts';
import type { ApiKeys } from '../api-keys-service.ts';
import type { Applications } from '../applications-service.ts';
import type { Organizations } from '../organizations-service.ts';
import type { Plans } from '../plans-service.ts';
import type { PortalSessions } from '../portal-sessions-service.ts';
import type { UsageReports } from '../usage-reports.ts';
import { type PortalSessionData, portalSessionStore } from './portal-session-store.ts';
import type { SandboxPortal } from './sandbox-routes.ts';

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
  /** The sandbox institution, once the app has built it (`/portal/sandbox`). */
  sandbox?: () => SandboxPortal | undefined;
}

export type PortalSession = Session<PortalSessionData>;

/** Secrets and links shown once, on the next page after the action that created them. */
export interface PortalFlash {
  applicationId?: string;
  clientSecret?: string;
  apiKey?: { id: string; key: string };
  note?: string;
  invitationLink?: string;
}

/** A signed-in request's user: the session and the actor the services authorize. */
export interface PortalUser {
  session: PortalSession;
  actor: Actor;
}

export const SESSION_COOKIE = '__Host-sr-portal';
const SESSION_TTL_MS = 8 * 3600 * 1000;
const FLASH_TTL_MS = 5 * 60 * 1000;

/** What the portal's route groups share: sessions, flash, page rendering, the API catalogue. */
export function createPortal(deps: PortalDeps) {
  const { context } = deps;
  const sessions = createSessions<PortalSessionData>({
    cookieName: SESSION_COOKIE,
    store: portalSessionStore(deps),
    clock: context.clock,
    absoluteMs: SESSION_TTL_MS,
  });
  const flash = createFlash<PortalFlash>({
    state: context.shared,
    sealer: context.sealer,
    prefix: 'portal:flash',
    ttlMs: FLASH_TTL_MS,
  });
  const actorOf = (request: FastifyRequest, session: PortalSession) =>
    actorFromScopes(session.data.userId, session.data.scopes, request.id);

  /** The public API documents by name (APIs whose root is not public, e.g. admin APIs, are not listed). */
  const documents = () => {
    const out = new Map<string, OpenApiDocument>();
    for (const api of deps.apiCatalog())
      if (api.document['x-strongroom-public-security'] === undefined) out.set(api.name, api.document);
    return out;
  };

  return {
    deps,
    sessions,
    flash,
    documents,
    apiChoices: () => [...documents()].map(([name, doc]) => ({ name, title: doc.info.title })),

    /** The signed-in user of a request of the signed-in routes (their hook sent everyone else to sign in). */
    async user(request: FastifyRequest): Promise<PortalUser> {
      const session = await sessions.load(request);
      if (!session) throw new AppError('unauthorized', { detail: 'Sign in to continue.' });
      return { session, actor: actorOf(request, session) };
    },

    /** Send a portal page in the frame (navigation for the signed-in user, sign-out form). */
    async send(
      request: FastifyRequest,
      reply: FastifyReply,
      status: number,
      title: string,
      body: SafeHtml,
      extra: Pick<PortalFrame, 'stylesheets' | 'scripts'> = {},
    ): Promise<FastifyReply> {
      // An error page may be rendering a failure to read the session: then it is shown signed out.
      const session = await sessions.load(request).catch(() => undefined);
      const frame: PortalFrame = {
        institutionName: context.config.institutionName,
        title,
        user: session && {
          username: session.data.username,
          institution: actorOf(request, session).institution,
        },
        csrf: session?.csrf,
        ...extra,
      };
      return sendPage(reply, status, portalLayout(frame, body));
    },
  };
}

export type Portal = ReturnType<typeof createPortal>;

/** A path parameter that is an opaque id; anything else is not found (probing learns nothing). */
export function idParam(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string | undefined>)[name];
  if (!isOpaqueId(value)) throw new AppError('notFound', { detail: 'There is nothing at this address.' });
  return value;
}
