import Provider, { type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '../../lib/clock.ts';
import { errorPage, layout, loggedOutPage, logoutPage } from '../../web/auth/pages.ts';
import { type html, raw } from '../../web/html.ts';
import { API_SCOPE_NAMES, type Identity } from '../identity/index.ts';
import type { KeyMaterial } from './keys-service.ts';
import type { ClientLifetimes, LifetimesService } from './lifetimes.ts';

type AnyClient = { clientId: string; [k: string]: unknown };

const KNOWN_SCOPES = new Set([...API_SCOPE_NAMES, 'openid', 'offline_access']);

export interface ProviderDeps {
  issuer: string;
  audience: string;
  institutionName: string;
  keys: KeyMaterial;
  Adapter: NonNullable<Configuration['adapter']>;
  identity: Identity;
  lifetimes: LifetimesService;
  /**
   * Domain time for the lifetimes we compute. oidc-provider reads `Date` itself (its iat/exp); in
   * production both are the system clock.
   */
  clock: Clock;
  behindProxy: boolean;
  /** Told the lifetime of every access token issued (the gateway's bound on `exp − iat` follows it). */
  onAccessTokenLifetime?: (seconds: number) => void;
}

export function clientLifetimes(client: AnyClient | undefined): ClientLifetimes | undefined {
  return client?.['urn:strongroom:lifetimes'] as ClientLifetimes | undefined;
}

function accountIdOf(ctx: KoaContextWithOIDC): string | undefined {
  const oidc = ctx.oidc as unknown as {
    entities?: { Account?: { accountId?: string } };
    session?: { accountId?: string };
  };
  const fromEntity = oidc.entities?.Account?.accountId;
  if (fromEntity) return fromEntity;
  try {
    return oidc.session?.accountId;
  } catch {
    return undefined;
  }
}

/** An unrecognised scope is an error (oidc-provider would drop it silently). */
function rejectUnknownScopes(ctx: KoaContextWithOIDC): void {
  const requested = (ctx.oidc.params?.scope as string | undefined) ?? '';
  for (const scope of requested.split(' ')) {
    if (scope && !KNOWN_SCOPES.has(scope))
      throw new errors.InvalidScope('requested scope is not recognised', scope);
  }
}

/**
 * oidc-provider configured for Strongroom: authorization code + PKCE S256 for every client, client
 * credentials for back-office services, ES256 JWT access tokens for one audience, refresh rotation for
 * public clients only, hashed client secrets (see index.ts), institution-set lifetimes.
 */
export function buildProvider(deps: ProviderDeps): Provider {
  const { issuer, audience, identity, lifetimes } = deps;
  const nowSeconds = () => Math.floor(deps.clock.now() / 1000);
  const page = (title: string, body: ReturnType<typeof html>) =>
    layout({ institutionName: deps.institutionName, title }, body);
  const lifetimesOf = (client: AnyClient | undefined) => lifetimes.forClient(clientLifetimes(client));
  const accessTokenTtl = (client: unknown) => {
    const seconds = lifetimesOf(client as AnyClient).accessToken;
    deps.onAccessTokenLifetime?.(seconds);
    return seconds;
  };

  const configuration: Configuration = {
    adapter: deps.Adapter,
    jwks: { keys: deps.keys.signing as never },
    cookies: {
      keys: deps.keys.cookies,
      // The session cookie has Path=/ so it can carry the __Host- prefix; interaction cookies are
      // path-scoped by oidc-provider, which the prefix does not allow.
      names: { session: '__Host-sr_session', interaction: 'sr_interaction', resume: 'sr_resume' },
      long: { httpOnly: true, sameSite: 'lax', secure: true, path: '/' },
      short: { httpOnly: true, sameSite: 'lax', secure: true },
    },
    routes: {
      authorization: '/oauth2/authorize',
      token: '/oauth2/token',
      pushed_authorization_request: '/oauth2/par',
      revocation: '/oauth2/revoke',
      introspection: '/oauth2/introspect',
      jwks: '/jwks',
      userinfo: '/userinfo',
      end_session: '/logout',
    },
    scopes: ['openid', 'offline_access'],
    claims: { openid: ['sub', 'preferred_username', 'name'] },
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['ES256', 'PS256', 'EdDSA'],
      // RS256 because OIDC Discovery requires it and some relying parties know nothing else; access
      // tokens stay ES256 (resource server info) and ES256 stays the clients' default.
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      requestObjectSigningAlgValues: ['ES256', 'PS256', 'EdDSA'],
      userinfoSigningAlgValues: ['ES256'],
      introspectionSigningAlgValues: ['ES256'],
      authorizationSigningAlgValues: ['ES256'],
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
    extraClientMetadata: {
      properties: [
        'urn:strongroom:kind',
        'urn:strongroom:first_party',
        'urn:strongroom:organization',
        'urn:strongroom:allowed_scopes',
        'urn:strongroom:lifetimes',
      ],
    },
    pkce: { required: () => true },
    // oidc-provider's default, plus: the platform's own pages (the portal's API reference, same origin)
    // may redeem a code from the browser for any client that registers a redirect page there; a
    // confidential client still authenticates with its secret.
    clientBasedCORS: (ctx, origin, client) =>
      origin !== 'null' &&
      (ctx.oidc.route === 'userinfo' ||
        client.clientAuthMethod === 'none' ||
        origin === new URL(issuer).origin) &&
      (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    allowOmittingSingleRegisteredRedirectUri: false,
    features: {
      devInteractions: { enabled: false },
      // Not offered until the gateway verifies DPoP proofs (DESIGN.md §5.1): a bound token the gateway
      // accepted as a plain Bearer token would be worse than none (RFC 9449 §7.2).
      dPoP: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Only the client the token was issued to may introspect it.
        allowedPolicy: async (_ctx, client, token) =>
          (token as unknown as { clientId?: string }).clientId === client.clientId,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) =>
          (token as unknown as { clientId?: string }).clientId === client.clientId,
      },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = page(
            'Sign out',
            logoutPage({ form: raw(form), clientName: ctx.oidc.client?.clientName ?? undefined }),
          );
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = page(
            'Signed out',
            loggedOutPage({ clientName: ctx.oidc.client?.clientName ?? undefined }),
          );
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: async (ctx, resourceIndicator, client) => {
          rejectUnknownScopes(ctx);
          if (resourceIndicator !== audience) throw new errors.InvalidTarget();
          const allowed = new Set((client['urn:strongroom:allowed_scopes'] as string[] | undefined) ?? []);
          // Granted = requested ∩ allowed for the client ∩ granted by the user's roles.
          const accountId = accountIdOf(ctx);
          let scopes = [...allowed];
          if (accountId) {
            const roleScopes = await identity.scopesOf(accountId);
            scopes = scopes.filter((s) => roleScopes.has(s));
          }
          return {
            scope: scopes.join(' '),
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl(client),
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    findAccount: async (_ctx, sub) => {
      const user = await identity.getUser(sub);
      if (!user || user.status === 'disabled') return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          preferred_username: user.username,
          name: user.displayName ?? user.username,
        }),
      };
    },
    interactions: { url: (_ctx, interaction) => `/auth/interaction/${interaction.uid}` },
    // Tokens do not die with the browser session: the refresh token's own lifetimes govern.
    expiresWithSession: () => false,
    issueRefreshToken: async (_ctx, client) =>
      client.grantTypeAllowed('refresh_token') && client['urn:strongroom:kind'] !== 'service',
    // Public clients rotate (with reuse detection); confidential clients keep their refresh token (FAPI 2.0).
    rotateRefreshToken: (ctx) => ctx.oidc.client?.tokenEndpointAuthMethod === 'none',
    revokeGrantPolicy: () => true,
    extraTokenClaims: async (_ctx, token) => {
      const t = token as unknown as { kind: string; grantId?: string };
      return t.kind === 'AccessToken' && t.grantId ? { grant_id: t.grantId } : undefined;
    },
    ttl: {
      AccessToken: (_ctx, _token, client) => accessTokenTtl(client),
      ClientCredentials: (_ctx, _token, client) => accessTokenTtl(client),
      AuthorizationCode: (_ctx, _token, client) => lifetimesOf(client as unknown as AnyClient).code,
      IdToken: (_ctx, _token, client) => lifetimesOf(client as unknown as AnyClient).accessToken,
      RefreshToken: (_ctx, token, client) => {
        const lt = lifetimesOf(client as unknown as AnyClient);
        const now = nowSeconds();
        const t = token as unknown as { iiat?: number; iat?: number };
        // Sliding idle lifetime, never beyond the absolute lifetime counted from the first issue.
        const first = t.iiat ?? t.iat ?? now;
        return Math.max(1, Math.min(lt.refreshTokenIdle, first + lt.refreshTokenAbsolute - now));
      },
      Grant: (ctx) => lifetimesOf(ctx?.oidc?.client as unknown as AnyClient).refreshTokenAbsolute,
      Session: (_ctx, session) => {
        // Idle timeout, renewed whenever the session is used, never beyond the absolute one from sign-in.
        const lt = lifetimes.global();
        const now = nowSeconds();
        const start = (session as unknown as { loginTs?: number }).loginTs ?? now;
        return Math.max(1, Math.min(lt.sessionIdle, start + lt.sessionAbsolute - now));
      },
      Interaction: () => lifetimes.global().interaction,
    },
    renderError: async (ctx, out, error) => {
      ctx.type = 'html';
      const description = out.error_description ?? 'The request could not be processed.';
      ctx.body = page(
        'Something went wrong',
        errorPage({
          title:
            out.error === 'invalid_redirect_uri' || out.error === 'invalid_client'
              ? 'This request cannot be completed'
              : 'Something went wrong',
          message: String(description),
          requestId: (ctx.res.getHeader('x-request-id') as string | undefined) || undefined,
        }),
      );
      void error;
    },
    clockTolerance: 5,
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = deps.behindProxy;
  // The metadata's `scopes_supported` lists the API scopes too, so a client may ask for every scope and
  // get the intersection with its own and the user's (DESIGN.md §5.4). oidc-provider lists only its
  // OpenID scopes, and its `discovery` option only adds properties, it cannot replace that list.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'discovery' || !ctx.body || typeof ctx.body !== 'object') return;
    const metadata = ctx.body as Record<string, unknown>;
    metadata.scopes_supported = [...(configuration.scopes ?? []), ...API_SCOPE_NAMES];
    // /auth/userinfo is ours (userinfo.ts) and answers plain JSON only.
    delete metadata.userinfo_signing_alg_values_supported;
    // Introspection and revocation authenticate clients exactly as the token endpoint does.
    for (const endpoint of ['introspection', 'revocation']) {
      metadata[`${endpoint}_endpoint_auth_methods_supported`] =
        metadata.token_endpoint_auth_methods_supported;
      metadata[`${endpoint}_endpoint_auth_signing_alg_values_supported`] =
        metadata.token_endpoint_auth_signing_alg_values_supported;
    }
  });
  return provider;
}
