import { createHash, randomBytes } from 'node:crypto';
import { generate } from 'otplib';

/**
 * A real OAuth client for tests: the authorization-code flow with PKCE over HTTPS, driven with fetch and
 * a small cookie jar through the authorization server's own pages (login form with its CSRF token → MFA →
 * consent → redirect), then the token exchange. No browser. Trust the app's CA first (`trustCa`).
 */
export interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
  [extra: string]: unknown;
}

export interface AuthorizationCodeFlowOptions {
  baseUrl: string;
  clientId: string;
  /** Confidential clients: sent with client_secret_basic (or `clientAuth: 'post'`). */
  clientSecret?: string;
  clientAuth?: 'basic' | 'post';
  redirectUri: string;
  username: string;
  password: string;
  /** Base32 TOTP secret (demo.json `users[].totpSecret`) for users whose roles require MFA. */
  totpSecret?: string;
  /** Space-separated scopes. */
  scope: string;
  /** What to answer on the consent page (first-party clients skip it). Default approve. */
  consent?: 'approve' | 'deny';
  /** Extra authorization request parameters. */
  extraParams?: Record<string, string>;
}

/** Error raised when the flow ends with an OAuth error (e.g. `access_denied`) or an unexpected page. */
export class OAuthFlowError extends Error {
  readonly error: string;
  readonly status: number | undefined;
  readonly body: unknown;
  constructor(error: string, message: string, status?: number, body?: unknown) {
    super(message);
    this.name = 'OAuthFlowError';
    this.error = error;
    this.status = status;
    this.body = body;
  }
}

/** Cookies by name with their path; enough for one origin. */
export function createCookieJar() {
  const cookies = new Map<string, { value: string; path: string }>();
  return {
    cookies,
    store(response: Response) {
      for (const line of response.headers.getSetCookie()) {
        const [pair, ...attributes] = line.split(';');
        const index = pair?.indexOf('=') ?? -1;
        if (!pair || index < 1) continue;
        const name = pair.slice(0, index).trim();
        const value = pair.slice(index + 1).trim();
        let path = '/';
        let expired = value === '';
        for (const attribute of attributes) {
          const [key, val = ''] = attribute.split('=');
          const k = key?.trim().toLowerCase();
          if (k === 'path') path = val.trim() || '/';
          if (k === 'max-age' && Number(val) <= 0) expired = true;
          if (k === 'expires' && Date.parse(val) < Date.now()) expired = true;
        }
        if (expired) cookies.delete(name);
        else cookies.set(name, { value, path });
      }
    },
    header(url: string): string {
      const path = new URL(url).pathname;
      return [...cookies]
        .filter(([, c]) => path.startsWith(c.path))
        .map(([name, c]) => `${name}=${c.value}`)
        .join('; ');
    },
  };
}

export type CookieJar = ReturnType<typeof createCookieJar>;

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Fetch without following redirects, with the jar's cookies. */
export async function jarFetch(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = jar.header(url);
  if (cookie) headers.set('cookie', cookie);
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(response);
  return response;
}

/** The hidden CSRF token and the action of the first form of an auth page. */
export function parseForm(page: string): { action: string; csrf: string } {
  const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!action || !csrf) throw new OAuthFlowError('unexpected_page', 'no form with a CSRF token on the page');
  return { action: action.replaceAll('&amp;', '&'), csrf };
}

function formBody(values: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(values).toString(),
  };
}

export interface AuthorizeResult {
  /** The final redirect to the client's redirect URI. */
  location: URL;
  code: string | undefined;
  state: string | null;
  codeVerifier: string;
  jar: CookieJar;
}

/**
 * Run the front-channel part of the flow up to the redirect back to the client (does not exchange the
 * code). Throws OAuthFlowError when a page refuses (wrong password, locked account…).
 */
export async function authorize(
  options: AuthorizationCodeFlowOptions & { jar?: CookieJar },
): Promise<AuthorizeResult> {
  const jar = options.jar ?? createCookieJar();
  const { verifier, challenge } = pkcePair();
  const state = options.extraParams?.state ?? randomBytes(12).toString('base64url');
  const url = new URL(`${options.baseUrl}/auth/oauth2/authorize`);
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    scope: options.scope,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...options.extraParams,
  };
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);

  const location = await followAuthorization(jar, url.toString(), options);
  return {
    location,
    code: location.searchParams.get('code') ?? undefined,
    state: location.searchParams.get('state'),
    codeVerifier: verifier,
    jar,
  };
}

/**
 * Drive the authorization server's pages from an authorization URL (built by any client, e.g.
 * openid-client) to the redirect back to `redirectUri`; returns that URL (with `code` or `error`).
 */
export async function followAuthorization(
  jar: CookieJar,
  authorizationUrl: string,
  options: Pick<
    AuthorizationCodeFlowOptions,
    'baseUrl' | 'redirectUri' | 'username' | 'password' | 'totpSecret' | 'consent'
  >,
): Promise<URL> {
  let response = await jarFetch(jar, authorizationUrl);
  let otpAttempt = 0;
  for (let step = 0; step < 20; step++) {
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location') ?? '', response.url || options.baseUrl);
      if (location.href.startsWith(options.redirectUri)) {
        return location;
      }
      if (location.origin !== new URL(options.baseUrl).origin)
        throw new OAuthFlowError('unexpected_redirect', `redirected to ${location.href}`);
      response = await jarFetch(jar, location.toString());
      continue;
    }
    const page = await response.text();
    const current = response.url;
    if (response.status >= 400 && !/name="otp"/.test(page) && !/name="password"/.test(page)) {
      throw new OAuthFlowError(
        'page_error',
        `the authorization server answered ${response.status}`,
        response.status,
        page,
      );
    }
    if (/name="decision"/.test(page)) {
      const { action, csrf } = parseForm(page);
      response = await jarFetch(
        jar,
        new URL(action, current).toString(),
        formBody({ csrf, decision: options.consent ?? 'approve' }),
      );
      continue;
    }
    if (/name="otp"/.test(page)) {
      if (!options.totpSecret) throw new OAuthFlowError('mfa_required', 'the user needs a TOTP secret');
      if (response.status === 401 || response.status === 429) otpAttempt += 1;
      if (response.status === 429 || otpAttempt > 3)
        throw new OAuthFlowError('mfa_failed', 'TOTP code refused', response.status, page);
      // A code is accepted once per 30-second step: on a refusal use the next step's code (accepted
      // within the tolerance), and after that wait for a fresh step.
      const now = Math.floor(Date.now() / 1000);
      if (otpAttempt === 2) await new Promise((r) => setTimeout(r, (30 - (now % 30)) * 1000 + 200));
      const epoch = Math.floor(Date.now() / 1000) + (otpAttempt === 1 ? 30 : 0);
      const otp = await generate({ secret: options.totpSecret, epoch });
      const { action, csrf } = parseForm(page);
      response = await jarFetch(jar, new URL(action, current).toString(), formBody({ csrf, otp }));
      continue;
    }
    if (/name="password"/.test(page)) {
      if (response.status !== 200)
        throw new OAuthFlowError(
          'login_failed',
          `sign-in refused (${response.status})`,
          response.status,
          page,
        );
      const { action, csrf } = parseForm(page);
      response = await jarFetch(
        jar,
        new URL(action, current).toString(),
        formBody({ csrf, username: options.username, password: options.password }),
      );
      continue;
    }
    throw new OAuthFlowError(
      'unexpected_page',
      `unexpected page (${response.status})`,
      response.status,
      page,
    );
  }
  throw new OAuthFlowError('too_many_redirects', 'the flow did not finish');
}

function clientAuth(
  options: { clientId: string; clientSecret?: string; clientAuth?: 'basic' | 'post' },
  body: Record<string, string>,
): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (options.clientSecret && options.clientAuth !== 'post') {
    const encode = (v: string) => encodeURIComponent(v);
    headers.authorization = `Basic ${Buffer.from(`${encode(options.clientId)}:${encode(options.clientSecret)}`).toString('base64')}`;
  } else {
    body.client_id = options.clientId;
    if (options.clientSecret) body.client_secret = options.clientSecret;
  }
  return headers;
}

/** POST to the token endpoint; throws OAuthFlowError with the OAuth `error` unless 200. */
export async function tokenRequest(
  options: { baseUrl: string; clientId: string; clientSecret?: string; clientAuth?: 'basic' | 'post' },
  params: Record<string, string>,
): Promise<TokenSet> {
  const body = { ...params };
  const headers = clientAuth(options, body);
  const response = await fetch(`${options.baseUrl}/auth/oauth2/token`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(body).toString(),
  });
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status !== 200)
    throw new OAuthFlowError(
      String(json.error ?? 'http_error'),
      String(json.error_description ?? response.status),
      response.status,
      json,
    );
  return json as TokenSet;
}

/** The whole authorization-code flow with PKCE; returns the token response. */
export async function authorizationCodeFlow(options: AuthorizationCodeFlowOptions): Promise<TokenSet> {
  const result = await authorize(options);
  if (!result.code) {
    const error = result.location.searchParams.get('error') ?? 'no_code';
    throw new OAuthFlowError(error, result.location.searchParams.get('error_description') ?? error);
  }
  return tokenRequest(options, {
    grant_type: 'authorization_code',
    code: result.code,
    redirect_uri: options.redirectUri,
    code_verifier: result.codeVerifier,
  });
}

export async function clientCredentials(options: {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string;
  clientAuth?: 'basic' | 'post';
}): Promise<TokenSet> {
  return tokenRequest(options, { grant_type: 'client_credentials', scope: options.scope });
}

export async function refresh(options: {
  baseUrl: string;
  clientId: string;
  clientSecret?: string;
  refreshToken: string;
  scope?: string;
  clientAuth?: 'basic' | 'post';
}): Promise<TokenSet> {
  return tokenRequest(options, {
    grant_type: 'refresh_token',
    refresh_token: options.refreshToken,
    ...(options.scope ? { scope: options.scope } : {}),
  });
}

/** Decode a JWT's header and payload (no verification). */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}
