/** The tokens of a signed-in user, as a token store keeps them. Times are milliseconds since the epoch. */
export interface StoredTokens {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  idToken?: string;
  /** Granted scopes, space-separated. */
  scope: string;
  /** When the client received the token (its clock): the lifetime is `expiresAt - receivedAt`. */
  receivedAt: number;
  /** Absent when the server did not say (`expires_in`): then the token is never refreshed early. */
  expiresAt?: number;
}

/** A sign-in started by `authorizationUrl()` and finished by `handleCallback()` (PKCE, RFC 7636). */
export interface PendingAuthorization {
  state: string;
  codeVerifier: string;
  redirectUri: string;
  scope: string;
  createdAt: number;
}

/** Everything a client keeps between calls (and, for web apps, between page loads). */
export interface StoredSession {
  tokens?: StoredTokens;
  pending?: PendingAuthorization;
}

/**
 * Where a client keeps its session: in memory (default), in the browser's session storage, in a file
 * (`@strongroom/client/node`), or anything that implements these three methods.
 */
export interface TokenStore {
  load(): Promise<StoredSession | undefined>;
  save(session: StoredSession): Promise<void>;
  clear(): Promise<void>;
  /**
   * Optional: run `fn` while holding a lock shared by every client using the same storage (e.g. several
   * processes sharing one file), so two of them never spend the same refresh token. Public clients'
   * refresh tokens rotate, and a reused one ends the whole session (RFC 9700 §4.14).
   */
  lock?<T>(fn: () => Promise<T>): Promise<T>;
}

/** Keeps the session in this process only. */
export function memoryTokenStore(initial?: StoredSession): TokenStore {
  let session = initial ? structuredClone(initial) : undefined;
  return {
    async load() {
      return session ? structuredClone(session) : undefined;
    },
    async save(next) {
      session = structuredClone(next);
    },
    async clear() {
      session = undefined;
    },
  };
}

/** The part of the Web Storage API a token store needs. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Keeps the session in the browser's `sessionStorage` (one tab, gone when it closes), so a web app
 * survives the redirect to the sign-in page and back. `storage` defaults to `globalThis.sessionStorage`.
 */
export function sessionStorageTokenStore(options: { key?: string; storage?: StorageLike } = {}): TokenStore {
  const key = options.key ?? 'strongroom.session';
  const storage = () => {
    const found = options.storage ?? (globalThis as { sessionStorage?: StorageLike }).sessionStorage;
    if (!found) throw new Error('sessionStorage is not available here; pass another token store');
    return found;
  };
  return {
    async load() {
      const raw = storage().getItem(key);
      if (!raw) return undefined;
      try {
        return JSON.parse(raw) as StoredSession;
      } catch {
        return undefined;
      }
    },
    async save(session) {
      storage().setItem(key, JSON.stringify(session));
    },
    async clear() {
      storage().removeItem(key);
    },
  };
}
