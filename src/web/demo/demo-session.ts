import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type * as oidc from 'openid-client';
import type { DemoDocument } from '../../demo/demo-file.ts';
import { createFlash, createSessions, type Session, sealedSessionStore } from '../../http/web/index.ts';
import type { ModuleContext } from '../../modules/module-context.ts';

/** The server-side state of one /demo/ browser session. Tokens never reach the browser. */
export interface DemoSessionData {
  /** An authorization request in flight. */
  pending?: { state: string; verifier: string; startedAt: number };
  tokens?: { accessToken: string; refreshToken?: string; expiresAt: number; scope: string };
  userId?: string;
}

export type DemoSession = Session<DemoSessionData>;

/** A one-time message for the next page: the answer of the API call an action made. */
export interface DemoFlash {
  title: string;
  status: number;
  body: unknown;
  request?: string;
}

/** The demo's configuration once demo.json exists: the document and the backOffice client's OpenID setup. */
export interface DemoSetup {
  demo: DemoDocument;
  oidc: oidc.Configuration;
}

/** What the /demo/ route groups share. */
export interface DemoRuntime {
  /** The whole server: API calls go through the gateway in-process (`inject`). */
  app: FastifyInstance;
  context: ModuleContext;
  sessions: ReturnType<typeof createDemoSessions>['sessions'];
  flash: ReturnType<typeof createDemoSessions>['flash'];
  /** Undefined until the demo institution exists (the server was started without `--demo`). */
  setup(): Promise<DemoSetup | undefined>;
  /** The request's session, or a new anonymous one (its cookie set on the reply). */
  sessionOf(request: FastifyRequest, reply: FastifyReply): Promise<DemoSession>;
}

export const SESSION_COOKIE = '__Host-strongroom-demo';
const IDLE_MS = 30 * 60_000;
const ABSOLUTE_MS = 12 * 3_600_000;
const FLASH_TTL_MS = 5 * 60_000;

/**
 * Sessions in the shared state (memory, or Redis when scaled out), sealed with the key-encryption key so
 * that tokens are not readable in Redis. The cookie holds only a 256-bit random id.
 */
export function createDemoSessions(context: ModuleContext) {
  const { shared: state, sealer, clock } = context;
  return {
    sessions: createSessions<DemoSessionData>({
      cookieName: SESSION_COOKIE,
      store: sealedSessionStore({ state, sealer, clock, prefix: 'demo:session' }),
      clock,
      idleMs: IDLE_MS,
      absoluteMs: ABSOLUTE_MS,
    }),
    flash: createFlash<DemoFlash>({ state, sealer, prefix: 'demo:flash', ttlMs: FLASH_TTL_MS }),
  };
}
