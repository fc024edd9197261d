import type { Executor } from '../../db/index.ts';

/** How a client authenticates at the token endpoint. `client_secret_jwt` is deliberately not offered. */
export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'private_key_jwt'
  | 'none';

/** What the developers module (and the CLI) registers as an OAuth client of the authorization server. */
export interface OAuthClientSpec {
  /** Fixed id (seeded first-party clients); generated when absent. */
  clientId?: string;
  name: string;
  /** The client application (developers module) this client belongs to, if any. */
  applicationId?: string;
  /** confidential web app, public native/SPA app, or back-office service (client credentials). */
  kind: 'confidential' | 'public' | 'service';
  /** Exact redirect URIs (https, or http://127.0.0.1 / [::1] loopback for native apps). */
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  grantTypes: ('authorization_code' | 'refresh_token' | 'client_credentials')[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** Public keys for private_key_jwt. */
  jwks?: { keys: Record<string, unknown>[] };
  /** API scopes the client may be granted (requested ∩ these ∩ the user's roles). */
  allowedScopes: string[];
  /** Institution's own apps (portal, console, /demo/) skip the consent page. */
  firstParty?: boolean;
  /** Organization name shown on the consent page. */
  organizationName?: string;
  /** Per-client lifetime overrides (seconds). */
  lifetimes?: Partial<Record<'accessToken' | 'refreshTokenIdle' | 'refreshTokenAbsolute' | 'code', number>>;
  /** How its ID tokens are signed (default ES256; RS256 for relying parties that support nothing else). */
  idTokenSignedResponseAlg?: IdTokenSigningAlg;
}

/** ID-token signing algorithms offered; access tokens are always ES256. */
export const ID_TOKEN_SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type IdTokenSigningAlg = (typeof ID_TOKEN_SIGNING_ALGS)[number];

/** A registered client as others may see it (never a secret or a hash). */
export interface OAuthClientInfo extends Omit<OAuthClientSpec, 'clientId'> {
  clientId: string;
  enabled: boolean;
  createdAt: string;
}

/**
 * Client registry of the authorization server (implemented by the oauth module). Secrets are returned in
 * plaintext only by `register` and `rotateSecret`; the store keeps hashes. Pass a transaction as
 * `executor` to register a client atomically with the caller's own rows.
 */
export interface OAuthClients {
  register(spec: OAuthClientSpec, executor?: Executor): Promise<{ clientId: string; clientSecret?: string }>;
  update(
    clientId: string,
    patch: Partial<
      Pick<
        OAuthClientSpec,
        | 'name'
        | 'redirectUris'
        | 'postLogoutRedirectUris'
        | 'allowedScopes'
        | 'jwks'
        | 'organizationName'
        | 'lifetimes'
        | 'idTokenSignedResponseAlg'
      >
    >,
    executor?: Executor,
  ): Promise<void>;
  /** New secret; the previous one stays valid for `overlapSeconds` (0 allowed). */
  rotateSecret(
    clientId: string,
    overlapSeconds: number,
    executor?: Executor,
  ): Promise<{ clientSecret: string; previousExpiresAt: string }>;
  /** A disabled client cannot authorize or use the token endpoint; disabling revokes its grants. */
  setEnabled(clientId: string, enabled: boolean, reason: string, executor?: Executor): Promise<void>;
  /** Delete the client and revoke its grants. */
  remove(clientId: string, reason: string, executor?: Executor): Promise<void>;
  /** Revoke every grant (and so every token) of the client; returns how many. */
  revokeGrants(clientId: string, reason: string): Promise<number>;
  get(clientId: string): Promise<OAuthClientInfo | undefined>;
}
