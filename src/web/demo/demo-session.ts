import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Sealer } from '../../lib/sealer.ts';
import type { SharedState } from '../../store/index.ts';

/** The server-side state of one /demo/ browser session. Tokens never reach the browser. */
export interface DemoSession {
  id: string;
  csrf: string;
  createdAt: number;
  /** An authorization request in flight. */
  pending?: { state: string; verifier: string; startedAt: number };
  tokens?: { accessToken: string; refreshToken?: string; expiresAt: number; scope: string };
  userId?: string;
  /** A one-time message for the next page (e.g. the result of a transfer). */
  flash?: { title: string; status: number; body: unknown; request?: string };
}

export const SESSION_COOKIE = '__Host-strongroom-demo';
const IDLE_MS = 30 * 60_000;
const ABSOLUTE_MS = 12 * 3_600_000;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Sessions in the shared state (memory, or Redis when scaled out), sealed with the key-encryption key so
 * that tokens are not readable in Redis. The cookie holds only a 256-bit random id.
 */
export function createDemoSessions(deps: { shared: SharedState; sealer: Sealer; now: () => number }) {
  const key = (id: string) => `demo:session:${id}`;
  return {
    async load(cookieHeader: string | undefined): Promise<DemoSession | undefined> {
      const id = readCookie(cookieHeader, SESSION_COOKIE);
      if (!id || !SESSION_ID.test(id)) return undefined;
      const sealed = await deps.shared.get(key(id));
      if (!sealed) return undefined;
      const session = JSON.parse(deps.sealer.open(sealed, key(id))) as DemoSession;
      if (deps.now() - session.createdAt > ABSOLUTE_MS) {
        await deps.shared.delete(key(id));
        return undefined;
      }
      return session;
    },
    create(): DemoSession {
      return {
        id: randomBytes(32).toString('base64url'),
        csrf: randomBytes(32).toString('base64url'),
        createdAt: deps.now(),
      };
    },
    async save(session: DemoSession): Promise<void> {
      await deps.shared.set(
        key(session.id),
        deps.sealer.seal(JSON.stringify(session), key(session.id)),
        IDLE_MS,
      );
    },
    async destroy(session: DemoSession): Promise<void> {
      await deps.shared.delete(key(session.id));
    },
    cookie(session: DemoSession): string {
      return `${SESSION_COOKIE}=${session.id}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${ABSOLUTE_MS / 1000}`;
    },
    clearCookie(): string {
      return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
    },
  };
}

export type DemoSessions = ReturnType<typeof createDemoSessions>;

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

/** Constant-time CSRF token comparison. */
export function csrfMatches(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
