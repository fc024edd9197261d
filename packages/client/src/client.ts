import createFetchClient, { type Client } from 'openapi-fetch';
import { createAuthorization, type FetchLike } from './authorization.ts';
import type { paths } from './generated/index.ts';
import { createSender, type RetryOptions } from './sender.ts';
import { createSession, SignInRequired, storedTokens } from './session.ts';
import { memoryTokenStore, type StoredTokens, type TokenStore } from './token-store.ts';

/** Options of `createClient` (DESIGN.md §5.4). */
export interface ClientOptions {
  /** The deployment's origin, e.g. `https://localhost:8443` (its authorization server is `/auth`). */
  baseUrl: string;
  /** The application's API key, sent as `API-Key` on every API call. */
  apiKey: string;
  /** The application's OAuth client id. */
  clientId: string;
  /** Confidential (server-side) apps only; never ship it in a browser or native app. */
  clientSecret?: string;
  /** Where the sign-in pages send the user back: `http://127.0.0.1:PORT/…` for native apps. */
  redirectUri: string;
  /** Where the session lives between calls. Default: memory. */
  tokenStore?: TokenStore;
  /** Extra CA certificate(s) to trust, as PEM text (Node only), e.g. the demo's `tls/ca.pem`. */
  ca?: string | readonly string[];
  /** Scopes to ask for, space-separated. Default: `openid offline_access` + the server's `scopes_supported`. */
  scope?: string;
  /** 429 handling: wait for `Retry-After` up to a bound, a bounded number of times. */
  retry?: RetryOptions;
  /** Your own `fetch` (instrumentation, proxies); not together with `ca`. */
  fetch?: FetchLike;
  /** Time source for refresh decisions (ms since the epoch). Default: the system clock. */
  clock?: { now(): number };
}

/** What a client knows about the signed-in user's session (never the tokens themselves). */
export interface SessionInfo {
  scopes: string[];
  /** Milliseconds since the epoch (client clock), when known. */
  expiresAt: number | undefined;
  canRefresh: boolean;
}

export interface LoginOptions {
  scope?: string;
  /** Called with the URL to open in the user's browser (print it, open it). */
  onAuthorizationUrl: (url: string) => void | Promise<void>;
  /** How long to wait for the redirect back. Default 5 minutes. */
  timeoutMs?: number;
  /** Loopback port to listen on (0: any free port). Default: the redirect URI's port, else any. */
  port?: number;
  signal?: AbortSignal;
}

export interface RequestOptions {
  /** JSON-serialisable body (sent as application/json), or a string/bytes sent as they are. */
  body?: unknown;
  headers?: ConstructorParameters<typeof Headers>[0];
  signal?: AbortSignal;
}

export type StrongroomClient = Client<paths> & {
  /** Native apps (Node): sign in through the browser with a one-shot loopback listener (RFC 8252). */
  login(options: LoginOptions): Promise<SessionInfo>;
  /** Web apps: start a sign-in; redirect the browser to the returned URL. */
  authorizationUrl(options?: { scope?: string }): Promise<string>;
  /** Web apps: finish the sign-in with the URL the user came back to (`state` is checked). */
  handleCallback(url: string | URL): Promise<SessionInfo>;
  /** Revoke the session at the authorization server and forget it. */
  logout(): Promise<void>;
  /** Any operation, untyped: `call('GET', '/accounts/accounts')`. Throws StrongroomProblem. */
  call(method: string, path: string, options?: RequestOptions): Promise<Response>;
  /** A valid access token (refreshed first when due), e.g. for another HTTP library. */
  accessToken(): Promise<string>;
  /** The session, or undefined when nobody is signed in. */
  session(): Promise<SessionInfo | undefined>;
  /** Close the connections this client opened itself (with `ca`); it must not be used afterwards. */
  close(): Promise<void>;
};

const info = (tokens: StoredTokens): SessionInfo => ({
  scopes: tokens.scope.split(' ').filter(Boolean),
  expiresAt: tokens.expiresAt,
  canRefresh: tokens.refreshToken !== undefined,
});

/**
 * A client for one application of one Strongroom deployment: typed operations generated from every API
 * document (`client.GET('/accounts/accounts/{accountId}', { params: { path: { accountId } } })`), PKCE
 * sign-in for native and web apps, refresh before expiry, and errors thrown as StrongroomProblem.
 */
export function createClient(options: ClientOptions): StrongroomClient {
  for (const name of ['baseUrl', 'apiKey', 'clientId', 'redirectUri'] as const)
    if (!options[name]) throw new TypeError(`createClient: ${name} is required`);
  if (options.fetch && options.ca) throw new TypeError('createClient: give either fetch or ca, not both');
  const baseUrl = new URL(options.baseUrl).origin;
  const now = () => (options.clock ? options.clock.now() : Date.now());

  let transport: Promise<{ fetch: FetchLike; close?: () => Promise<void> }> | undefined;
  const fetchLike = async (): Promise<FetchLike> => {
    transport ??= options.fetch
      ? Promise.resolve({ fetch: options.fetch })
      : options.ca
        ? import('./ca-fetch.ts').then((m) => m.fetchTrusting(options.ca as string | readonly string[]))
        : Promise.resolve({ fetch: (url: string, init?: RequestInit) => globalThis.fetch(url, init) });
    return (await transport).fetch;
  };

  const authorization = createAuthorization({
    baseUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    fetch: fetchLike,
    now,
  });
  const session = createSession({ store: options.tokenStore ?? memoryTokenStore(), authorization, now });
  const send = createSender({
    baseUrl,
    apiKey: options.apiKey,
    session,
    fetch: fetchLike,
    now,
    retry: options.retry,
  });
  const api = createFetchClient<paths>({ baseUrl, fetch: send });
  const scopeFor = async (scope?: string) => scope ?? options.scope ?? (await authorization.defaultScope());

  /** A new authorization request; its PKCE verifier and state wait in the token store for the callback. */
  const startSignIn = async (redirectUri: string, scope?: string) => {
    const { url, pending } = await authorization.authorizationRequest({
      redirectUri,
      scope: await scopeFor(scope),
    });
    await session.save({ ...(await session.load()), pending });
    return { url, state: pending.state };
  };

  const handleCallback = async (url: string | URL): Promise<SessionInfo> => {
    const stored = await session.load();
    if (!stored.pending) throw new Error('No sign-in is in progress (call authorizationUrl() first).');
    const response = await authorization.exchange(stored.pending, new URL(url));
    const tokens = storedTokens(response, now());
    await session.signedIn(tokens);
    return info(tokens);
  };

  return {
    ...api,

    async login(login) {
      const { listenOnLoopback } = await import('./loopback.ts');
      const listener = await listenOnLoopback(options.redirectUri, login.port);
      try {
        const { url, state } = await startSignIn(listener.redirectUri, login.scope);
        const redirect = listener.waitForRedirect(state, login.timeoutMs ?? 5 * 60_000, login.signal);
        await login.onAuthorizationUrl(url);
        return await handleCallback(await redirect);
      } catch (error) {
        // Forget the abandoned sign-in (its PKCE verifier) but keep any session there was.
        const { pending: _abandoned, ...rest } = await session.load();
        await session.save(rest);
        throw error;
      } finally {
        listener.close();
      }
    },

    authorizationUrl: async (request = {}) => (await startSignIn(options.redirectUri, request.scope)).url,
    handleCallback,

    async logout() {
      const { tokens } = await session.load();
      if (tokens?.refreshToken) await authorization.revoke(tokens.refreshToken, 'refresh_token');
      else if (tokens) await authorization.revoke(tokens.accessToken, 'access_token');
      await session.clear();
    },

    async call(method, path, request = {}) {
      const headers = new Headers(request.headers);
      let body: RequestInit['body'];
      if (typeof request.body === 'string' || request.body instanceof Uint8Array)
        body = request.body as RequestInit['body'];
      else if (request.body !== undefined) {
        body = JSON.stringify(request.body);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
      const url = new URL(path.startsWith('/') ? `${baseUrl}${path}` : path);
      return send(new Request(url, { method: method.toUpperCase(), headers, body, signal: request.signal }));
    },

    async accessToken() {
      const tokens = await session.current();
      if (!tokens) throw new SignInRequired();
      return tokens.accessToken;
    },

    async session() {
      const { tokens } = await session.load();
      return tokens ? info(tokens) : undefined;
    },

    async close() {
      const opened = transport;
      transport = undefined;
      await (await opened?.catch(() => undefined))?.close?.();
    },
  };
}
