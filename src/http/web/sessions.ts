import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../lib/clock.ts';
import { sha256Hex } from '../../lib/hash.ts';

/** A browser session as a web surface sees it. */
export interface Session<T> {
  /** SHA-256 of the cookie value: the only form of the id that is stored, used as a key or logged. */
  readonly idHash: string;
  /** The session's form token (CSRF): random, and replaced with the id whenever a session is issued. */
  readonly csrf: string;
  readonly createdAt: number;
  data: T;
}

/** A session as its store keeps it (times in ms since the epoch, domain time). */
export interface StoredSession<T> {
  csrf: string;
  createdAt: number;
  expiresAt: number;
  data: T;
}

/** Where sessions live: the portal keeps them in the database, the demo sealed in shared state. */
export interface SessionStore<T> {
  find(idHash: string): Promise<StoredSession<T> | undefined>;
  /** Create or replace; the store may forget the session after `expiresAt`. */
  save(idHash: string, session: StoredSession<T>): Promise<void>;
  delete(idHash: string): Promise<void>;
}

export interface SessionOptions<T> {
  /** `__Host-` cookies are Secure, host-only and `Path=/` (browsers refuse them otherwise). */
  cookieName: `__Host-${string}`;
  store: SessionStore<T>;
  clock: Clock;
  /** Lifetime from sign-in; never extended. */
  absoluteMs: number;
  /** Lifetime without a save; each save moves it, never beyond `absoluteMs`. Default: `absoluteMs`. */
  idleMs?: number;
}

/** 256 random bits, base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const newToken = () => randomBytes(32).toString('base64url');

/**
 * The one session helper of the browser surfaces (`/portal`, `/demo/`): a `__Host-` cookie (Secure,
 * HttpOnly, SameSite=Lax, Path=/) holding 256 random bits, of which the store only ever sees the SHA-256.
 * `issue` always mints a new id (and a new form token): call it at sign-in so a session id planted before
 * sign-in is worthless (no fixation). Needs `@fastify/cookie` on the scope (`registerWebPlumbing`).
 */
export function createSessions<T>(options: SessionOptions<T>) {
  const { cookieName, store, clock, absoluteMs } = options;
  const idleMs = options.idleMs ?? absoluteMs;
  const cookieOptions = {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'lax',
    maxAge: Math.floor(absoluteMs / 1000),
  } as const;
  // Loaded once per request, whoever asks first (a hook, the handler, the error page).
  const loaded = new WeakMap<FastifyRequest, Promise<Session<T> | undefined>>();
  const expiryOf = (createdAt: number) => Math.min(createdAt + absoluteMs, clock.now() + idleMs);

  async function read(request: FastifyRequest): Promise<Session<T> | undefined> {
    const token = request.cookies[cookieName];
    if (!token || !TOKEN.test(token)) return undefined;
    const idHash = sha256Hex(token);
    const stored = await store.find(idHash);
    if (!stored) return undefined;
    const now = clock.now();
    if (stored.expiresAt <= now || stored.createdAt + absoluteMs <= now) {
      await store.delete(idHash);
      return undefined;
    }
    return { idHash, csrf: stored.csrf, createdAt: stored.createdAt, data: stored.data };
  }

  async function persist(session: Session<T>): Promise<void> {
    await store.save(session.idHash, {
      csrf: session.csrf,
      createdAt: session.createdAt,
      expiresAt: expiryOf(session.createdAt),
      data: session.data,
    });
  }

  /** The request's session (undefined when there is none, or it expired). Read once per request. */
  function load(request: FastifyRequest): Promise<Session<T> | undefined> {
    let session = loaded.get(request);
    if (!session) {
      session = read(request);
      loaded.set(request, session);
    }
    return session;
  }

  /** Start a new session with a new id and form token, and set its cookie. */
  async function issue(request: FastifyRequest, reply: FastifyReply, data: T): Promise<Session<T>> {
    const token = newToken();
    const session: Session<T> = { idHash: sha256Hex(token), csrf: newToken(), createdAt: clock.now(), data };
    await persist(session);
    reply.setCookie(cookieName, token, cookieOptions);
    loaded.set(request, Promise.resolve(session));
    return session;
  }

  async function end(request: FastifyRequest): Promise<void> {
    const current = await load(request);
    if (current) await store.delete(current.idHash);
    loaded.set(request, Promise.resolve(undefined));
  }

  return {
    load,
    issue,
    /** End the request's session (if any) and issue a new one: the step at sign-in. */
    async rotate(request: FastifyRequest, reply: FastifyReply, data: T): Promise<Session<T>> {
      await end(request);
      return issue(request, reply, data);
    },
    /** Store a changed session (and move its idle expiry). */
    save: persist,
    /** End the request's session (if any) and clear its cookie. */
    async destroy(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      await end(request);
      reply.clearCookie(cookieName, { path: '/', secure: true, httpOnly: true, sameSite: 'lax' });
    },
  };
}

export type Sessions<T> = ReturnType<typeof createSessions<T>>;

/** The subset of the shared state (memory or Redis) a sealed store needs. */
export interface KeyValueState {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/** The subset of the sealer (AES-GCM under the key-encryption key) a sealed store needs. */
export interface ValueSealer {
  seal(plaintext: string, context?: string): string;
  open(sealed: string, context?: string): string;
}

/**
 * Sessions in the shared state (memory, or Redis when scaled out, so every instance sees them), sealed
 * with the key-encryption key and bound to their key, so what they hold (tokens) is not readable there.
 */
export function sealedSessionStore<T>(deps: {
  state: KeyValueState;
  sealer: ValueSealer;
  clock: Clock;
  /** Key prefix, e.g. `demo:session`. */
  prefix: string;
}): SessionStore<T> {
  const key = (idHash: string) => `${deps.prefix}:${idHash}`;
  return {
    async find(idHash) {
      const sealed = await deps.state.get(key(idHash));
      if (!sealed) return undefined;
      try {
        return JSON.parse(deps.sealer.open(sealed, key(idHash))) as StoredSession<T>;
      } catch {
        return undefined;
      }
    },
    async save(idHash, session) {
      const ttl = Math.max(1, session.expiresAt - deps.clock.now());
      await deps.state.set(key(idHash), deps.sealer.seal(JSON.stringify(session), key(idHash)), ttl);
    },
    async delete(idHash) {
      await deps.state.delete(key(idHash));
    },
  };
}

/**
 * One-time messages for the next page of a session (a secret shown once, the result of an action), sealed
 * in the shared state and read at most once.
 */
export function createFlash<T>(deps: {
  state: KeyValueState;
  sealer: ValueSealer;
  prefix: string;
  ttlMs: number;
}) {
  const key = (session: { idHash: string }) => `${deps.prefix}:${session.idHash}`;
  return {
    async set(session: { idHash: string }, value: T): Promise<void> {
      await deps.state.set(key(session), deps.sealer.seal(JSON.stringify(value), key(session)), deps.ttlMs);
    },
    async take(session: { idHash: string }): Promise<T | undefined> {
      const sealed = await deps.state.get(key(session));
      if (!sealed) return undefined;
      await deps.state.delete(key(session));
      try {
        return JSON.parse(deps.sealer.open(sealed, key(session))) as T;
      } catch {
        return undefined;
      }
    },
  };
}
