import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A one-shot listener for the redirect back from the sign-in pages (native apps, RFC 8252 §7.3). */
export interface LoopbackListener {
  /** The redirect URI to send, with the port actually bound. */
  redirectUri: string;
  /** Resolves with the redirect's full URL once a request with the expected `state` arrives. */
  waitForRedirect(expectedState: string, timeoutMs: number, signal?: AbortSignal): Promise<URL>;
  close(): void;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

const page = (title: string, message: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto"><h1>${title}</h1><p>${message}</p></body></html>`;

function answer(res: ServerResponse, status: number, title: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    'referrer-policy': 'no-referrer',
  });
  res.end(page(title, message));
}

/**
 * Listen on the loopback address and path of `redirectUri`. Its port is used when it has one (`port`
 * overrides; 0 picks a free port): the authorization server accepts any port on a loopback redirect.
 * Only a GET of that path carrying the expected `state` is accepted; anything else is refused and the
 * listener keeps waiting, up to the timeout. It closes after the one accepted redirect.
 */
export async function listenOnLoopback(redirectUri: string, port?: number): Promise<LoopbackListener> {
  const target = new URL(redirectUri);
  if (target.protocol !== 'http:' || !LOOPBACK_HOSTS.has(target.hostname))
    throw new TypeError(`a native app's redirect URI must be http://127.0.0.1:PORT/… (got ${redirectUri})`);
  const host = target.hostname === 'localhost' ? '127.0.0.1' : target.hostname.replace(/^\[|\]$/g, '');
  const wanted = port ?? (target.port ? Number(target.port) : 0);

  let onRequest: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) =>
    answer(res, 404, 'Not found', 'No sign-in is in progress.');
  const server = createServer((req, res) => onRequest(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(wanted, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const actual = new URL(target);
  actual.port = String(bound);
  const close = () => {
    server.close();
    server.closeAllConnections();
  };

  return {
    redirectUri: actual.toString(),
    close,
    waitForRedirect(expectedState, timeoutMs, signal) {
      return new Promise<URL>((resolve, reject) => {
        const finish = (error: Error | undefined, url?: URL) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', aborted);
          // Let the answer reach the browser before the connection closes.
          setImmediate(close);
          if (error) reject(error);
          else resolve(url as URL);
        };
        const aborted = () => finish(signal?.reason ?? new Error('sign-in aborted'));
        const timer = setTimeout(
          () => finish(new Error(`no sign-in redirect within ${Math.round(timeoutMs / 1000)} s`)),
          timeoutMs,
        );
        if (signal?.aborted) return aborted();
        signal?.addEventListener('abort', aborted, { once: true });
        onRequest = (req, res) => {
          const url = new URL(req.url ?? '/', actual);
          if (req.method !== 'GET' || url.pathname !== actual.pathname)
            return answer(res, 404, 'Not found', 'This is not the sign-in redirect.');
          if (url.searchParams.get('state') !== expectedState)
            return answer(
              res,
              400,
              'Sign-in not accepted',
              'This response does not belong to the sign-in in progress. Start the sign-in again from the application.',
            );
          const failed = url.searchParams.has('error');
          answer(
            res,
            200,
            failed ? 'Sign-in did not complete' : 'Signed in',
            failed
              ? 'The sign-in was refused or cancelled. You can close this window.'
              : 'You can close this window and return to the application.',
          );
          onRequest = (_req, r) => answer(r, 404, 'Not found', 'No sign-in is in progress.');
          finish(undefined, url);
        };
      });
    },
  };
}
