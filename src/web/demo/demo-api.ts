import type { FastifyInstance } from 'fastify';
import * as oidc from 'openid-client';
import type { DemoApp } from '../../demo/demo-file.ts';

/** One answer of the APIs as the demo shows it: status and the parsed JSON (problem+json included). */
export interface ApiAnswer {
  status: number;
  body: unknown;
  request: string;
}

/**
 * Requests to our own server without leaving the process (`app.inject`): the demo is a client of the real
 * authorization server and the real gateway, but does not need to trust the local CA or know which
 * address the listener is bound to.
 */
export function injectFetch(app: FastifyInstance): oidc.CustomFetch {
  return async (url, options) => {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    new Headers(options.headers as Record<string, string>).forEach((value, name) => {
      headers[name] = value;
    });
    let payload: string | Buffer | undefined;
    const body = options.body;
    if (typeof body === 'string') payload = body;
    else if (body instanceof URLSearchParams) {
      payload = body.toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    } else if (body instanceof ArrayBuffer || ArrayBuffer.isView(body))
      payload = Buffer.from(body as ArrayBuffer);
    const response = await app.inject({
      method: options.method as 'GET',
      url: `${target.pathname}${target.search}`,
      headers,
      payload,
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, String(v));
    }
    return new Response(
      response.statusCode === 204 || response.statusCode === 304 ? null : response.rawPayload,
      {
        status: response.statusCode,
        headers: responseHeaders,
      },
    );
  };
}

/** The backOffice client's OpenID configuration (discovered once, through `inject`). */
export async function discover(
  app: FastifyInstance,
  issuer: string,
  backOffice: DemoApp,
): Promise<oidc.Configuration> {
  const fetchImpl = injectFetch(app);
  const config = await oidc.discovery(
    new URL(issuer),
    backOffice.clientId,
    undefined,
    oidc.ClientSecretBasic(backOffice.clientSecret),
    { [oidc.customFetch]: fetchImpl, execute: [] },
  );
  config[oidc.customFetch] = fetchImpl;
  return config;
}

/** Call an API through the gateway, as the backOffice application, for the signed-in user. */
export async function callApi(
  app: FastifyInstance,
  credentials: { apiKey: string; accessToken: string | undefined },
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { 'api-key': credentials.apiKey, ...options.headers };
  if (credentials.accessToken) headers.authorization = `Bearer ${credentials.accessToken}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await app.inject({
    method,
    url,
    headers,
    payload: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  let body: unknown;
  try {
    body = response.body ? JSON.parse(response.body) : undefined;
  } catch {
    body = response.body;
  }
  return { status: response.statusCode, body, request: `${method} ${url}` };
}
