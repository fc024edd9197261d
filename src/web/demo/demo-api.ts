import { existsSync, readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { FastifyInstance } from 'fastify';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import type { DemoApp } from '../../demo/demo-file.ts';

/** One answer of the APIs as the demo shows it: status and the parsed JSON (problem+json included). */
export interface ApiAnswer {
  status: number;
  body: unknown;
  request: string;
}

/**
 * HTTPS requests to the authorization server at its public URL (the endpoints in its metadata are built from
 * the request's scheme and host, so it must be reached the way browsers reach it), trusting the local CA
 * that demo.json names when the server generated its own certificate.
 */
function trustingFetch(caCertFile: string | null): oidc.CustomFetch {
  const ca = caCertFile && existsSync(caCertFile) ? readFileSync(caCertFile, 'utf8') : undefined;
  const dispatcher = ca ? new Agent({ connect: { ca: [...tls.rootCertificates, ca] } }) : undefined;
  return (url, options) =>
    undiciFetch(url, { ...options, dispatcher } as Parameters<
      typeof undiciFetch
    >[1]) as unknown as Promise<Response>;
}

/** The backOffice client's OpenID configuration (discovered once). */
export async function discover(
  issuer: string,
  backOffice: DemoApp,
  caCertFile: string | null,
): Promise<oidc.Configuration> {
  const fetchImpl = trustingFetch(caCertFile);
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
