import * as oauth from 'oauth4webapi';
import type { PendingAuthorization } from './token-store.ts';

/** `fetch` as the client uses it (a URL and init; the `ca` option swaps in undici with its own agent). */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export interface AuthorizationOptions {
  /** The deployment's origin; the authorization server is `<baseUrl>/auth` (DESIGN.md §2). */
  baseUrl: string;
  clientId: string;
  clientSecret?: string;
  fetch: () => Promise<FetchLike>;
  now: () => number;
}

/**
 * The OAuth 2.0 protocol work, done by oauth4webapi: discovery, the authorization request with PKCE
 * (S256) and `state`, validation of the redirect back (state, `iss`, error), the code exchange, refresh
 * and revocation (RFC 7009). Confidential clients authenticate with `client_secret_basic`.
 */
export function createAuthorization(options: AuthorizationOptions) {
  const issuer = new URL(`${options.baseUrl}/auth`);
  const client: oauth.Client = { client_id: options.clientId };
  const clientAuth = options.clientSecret ? oauth.ClientSecretBasic(options.clientSecret) : oauth.None();
  const loopbackHttp =
    issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);

  const http = async () => {
    const fetch = await options.fetch();
    return {
      [oauth.customFetch]: (url: string, init: RequestInit) => fetch(url, init),
      // Plain HTTP only to a server on this machine (a TLS-terminating proxy in development).
      ...(loopbackHttp ? { [oauth.allowInsecureRequests]: true } : {}),
    };
  };

  let metadata: Promise<oauth.AuthorizationServer> | undefined;
  const server = (): Promise<oauth.AuthorizationServer> => {
    metadata ??= (async () => {
      const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...(await http()) });
      return oauth.processDiscoveryResponse(issuer, response);
    })().catch((error: unknown) => {
      metadata = undefined;
      throw error;
    });
    return metadata;
  };

  return {
    metadata: server,

    /** `openid offline_access` and every scope the server lists; it grants what the app and user may. */
    async defaultScope(): Promise<string> {
      const supported = (await server()).scopes_supported ?? [];
      return [...new Set(['openid', 'offline_access', ...supported])].join(' ');
    },

    /** A fresh authorization request: the URL to open and what `exchange` needs afterwards. */
    async authorizationRequest(request: { redirectUri: string; scope: string }) {
      const as = await server();
      if (!as.authorization_endpoint)
        throw new Error('the authorization server has no authorization endpoint');
      const pending: PendingAuthorization = {
        state: oauth.generateRandomState(),
        codeVerifier: oauth.generateRandomCodeVerifier(),
        redirectUri: request.redirectUri,
        scope: request.scope,
        createdAt: options.now(),
      };
      const url = new URL(as.authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: options.clientId,
        redirect_uri: pending.redirectUri,
        scope: pending.scope,
        state: pending.state,
        code_challenge: await oauth.calculatePKCECodeChallenge(pending.codeVerifier),
        code_challenge_method: 'S256',
      }).toString();
      return { url: url.toString(), pending };
    },

    /** Check the redirect back (state, issuer, error) and exchange its code for tokens. */
    async exchange(pending: PendingAuthorization, callbackUrl: URL): Promise<oauth.TokenEndpointResponse> {
      const as = await server();
      const params = oauth.validateAuthResponse(as, client, callbackUrl, pending.state);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        params,
        pending.redirectUri,
        pending.codeVerifier,
        await http(),
      );
      return oauth.processAuthorizationCodeResponse(as, client, response);
    },

    async refresh(refreshToken: string): Promise<oauth.TokenEndpointResponse> {
      const as = await server();
      const response = await oauth.refreshTokenGrantRequest(
        as,
        client,
        clientAuth,
        refreshToken,
        await http(),
      );
      return oauth.processRefreshTokenResponse(as, client, response);
    },

    async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<void> {
      const as = await server();
      const response = await oauth.revocationRequest(as, client, clientAuth, token, {
        ...(await http()),
        additionalParameters: { token_type_hint: hint },
      });
      await oauth.processRevocationResponse(response);
    },
  };
}

export type Authorization = ReturnType<typeof createAuthorization>;

/** True when the authorization server refused a refresh token (expired, revoked, reused). */
export function isInvalidGrant(error: unknown): boolean {
  return error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant';
}
