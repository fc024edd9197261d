import type { FetchLike } from './authorization.ts';
import { problemFromResponse } from './problem.ts';
import type { Session } from './session.ts';

/** How long and how often a client waits when the API answers 429 with `Retry-After`. */
export interface RetryOptions {
  /** Longest `Retry-After` (seconds) worth waiting for; a longer one is thrown at once. Default 10. */
  maxRetryAfterSeconds?: number;
  /** Most retries of one call after 429. Default 2. */
  maxRetries?: number;
}

export interface SenderDeps {
  baseUrl: string;
  apiKey: string;
  session: Session;
  fetch: () => Promise<FetchLike>;
  now: () => number;
  retry?: RetryOptions;
  sleep?: (ms: number, signal?: AbortSignal | null) => Promise<void>;
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const defaultSleep = (ms: number, signal?: AbortSignal | null) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/**
 * Sends one API call with the application's API key and the user's access token (refreshed first when
 * due), and handles what a well-behaved client must: one retry after 401 `sessionExpired` (refresh, then
 * the same request again), bounded retries after 429 `Retry-After`, and every other error answer thrown
 * as a StrongroomProblem. Credentials go to the configured origin only.
 */
export function createSender(deps: SenderDeps) {
  const origin = new URL(deps.baseUrl).origin;
  const maxWaitMs = (deps.retry?.maxRetryAfterSeconds ?? 10) * 1000;
  const maxRetries = deps.retry?.maxRetries ?? 2;
  const sleep = deps.sleep ?? defaultSleep;

  return async function send(request: Request): Promise<Response> {
    if (new URL(request.url).origin !== origin)
      throw new Error(
        `refusing to send credentials to ${new URL(request.url).origin} (the client is for ${origin})`,
      );
    const fetch = await deps.fetch();
    // Read the body once so that a retry can send it again.
    const body = request.body === null ? undefined : await request.arrayBuffer();
    let refreshed = false;
    for (let retries = 0; ; ) {
      const tokens = await deps.session.current();
      const headers = new Headers(request.headers);
      headers.set('API-Key', deps.apiKey);
      if (tokens) headers.set('Authorization', `Bearer ${tokens.accessToken}`);
      const response = await fetch(request.url, {
        method: request.method,
        headers,
        body,
        signal: request.signal,
        redirect: 'manual',
      });
      if (response.ok || (response.status >= 300 && response.status < 400)) return response;

      const problem = await problemFromResponse(response);
      if (response.status === 401 && problem.typeName === 'sessionExpired' && tokens && !refreshed) {
        // Our clock said the token was still good; the server's disagrees. Refresh once and retry.
        refreshed = true;
        await deps.session.refresh(tokens);
        continue;
      }
      if (response.status === 429 && retries < maxRetries) {
        const wait = retryAfterMs(response.headers.get('retry-after'), deps.now());
        if (wait !== undefined && wait <= maxWaitMs) {
          retries += 1;
          await sleep(wait, request.signal);
          continue;
        }
      }
      throw problem;
    }
  };
}
