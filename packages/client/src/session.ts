import type { TokenEndpointResponse } from 'oauth4webapi';
import { type Authorization, isInvalidGrant } from './authorization.ts';
import type { StoredSession, StoredTokens, TokenStore } from './token-store.ts';

/** Thrown when a call needs a signed-in user and there is none (never signed in, signed out, session over). */
export class SignInRequired extends Error {
  constructor(message = 'Sign in first: there is no session, or it has ended.') {
    super(message);
    this.name = 'SignInRequired';
  }
}

/**
 * When to refresh: once less than the smaller of 60 s and 20% of the token's lifetime remains
 * (DESIGN.md §5.4), so a 300 s token is refreshed at 240 s and a 10 s token at 8 s.
 */
export function refreshDue(tokens: StoredTokens, now: number): boolean {
  if (tokens.expiresAt === undefined) return false;
  const lifetime = tokens.expiresAt - tokens.receivedAt;
  return tokens.expiresAt - now < Math.min(60_000, lifetime * 0.2);
}

/** Tokens as stored, from a token response; what a refresh response omits is kept from before. */
export function storedTokens(
  response: TokenEndpointResponse,
  now: number,
  previous?: StoredTokens,
): StoredTokens {
  return {
    accessToken: response.access_token,
    tokenType: response.token_type,
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    idToken: response.id_token ?? previous?.idToken,
    scope: response.scope ?? previous?.scope ?? '',
    receivedAt: now,
    expiresAt: response.expires_in === undefined ? undefined : now + response.expires_in * 1000,
  };
}

/**
 * The signed-in user's tokens: loaded once from the token store, refreshed before expiry, and refreshed
 * by one request at a time however many calls need it (single flight). With a store that can lock,
 * the refresh also runs under its lock and first re-reads the store, so clients in other processes
 * sharing it never spend the same refresh token twice.
 */
export function createSession(deps: { store: TokenStore; authorization: Authorization; now: () => number }) {
  const { store, authorization, now } = deps;
  let cached: Promise<StoredSession> | undefined;
  let refreshing: Promise<StoredTokens> | undefined;

  const load = (): Promise<StoredSession> => {
    cached ??= store.load().then(
      (session) => session ?? {},
      (error: unknown) => {
        cached = undefined; // a storage error is not remembered: the next call reads again
        throw error;
      },
    );
    return cached;
  };
  const save = async (session: StoredSession): Promise<void> => {
    cached = Promise.resolve(session);
    await store.save(session);
  };
  const withLock = <T>(fn: () => Promise<T>): Promise<T> => (store.lock ? store.lock(fn) : fn());

  const runRefresh = (stale: StoredTokens): Promise<StoredTokens> =>
    withLock(async () => {
      if (store.lock) cached = undefined; // another process may have refreshed: read the store again
      const session = await load();
      const latest = session.tokens;
      if (!latest) throw new SignInRequired();
      if (latest.accessToken !== stale.accessToken) return latest;
      if (!latest.refreshToken)
        throw new SignInRequired('The access token has expired and there is no refresh token.');
      try {
        const response = await authorization.refresh(latest.refreshToken);
        const tokens = storedTokens(response, now(), latest);
        await save({ ...session, tokens });
        return tokens;
      } catch (error) {
        if (!isInvalidGrant(error)) throw error;
        const { tokens: _ended, ...rest } = session;
        await save(rest);
        throw new SignInRequired('The session has ended (the refresh token was refused): sign in again.');
      }
    });

  const session = {
    load,
    save,

    /** Replace the tokens (after a sign-in); keeps nothing of a previous session. */
    async signedIn(tokens: StoredTokens): Promise<void> {
      await save({ tokens });
    },

    /** The tokens to use now: refreshed first when due. Undefined when nobody is signed in. */
    async current(): Promise<StoredTokens | undefined> {
      const { tokens } = await load();
      if (!tokens || !refreshDue(tokens, now()) || !tokens.refreshToken) return tokens;
      return session.refresh(tokens);
    },

    /**
     * Refresh once for everyone holding `stale`: concurrent callers share one token request, and a
     * caller whose tokens were already replaced gets the new ones without another request.
     */
    async refresh(stale: StoredTokens): Promise<StoredTokens> {
      const { tokens } = await load();
      if (tokens && tokens.accessToken !== stale.accessToken) return tokens;
      refreshing ??= runRefresh(stale).finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },

    /** Forget everything (tokens and any sign-in in progress). */
    async clear(): Promise<void> {
      cached = Promise.resolve({});
      await store.clear();
    },
  };
  return session;
}

export type Session = ReturnType<typeof createSession>;
