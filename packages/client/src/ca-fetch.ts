import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import type { FetchLike } from './authorization.ts';

/**
 * `fetch` that trusts the usual root certificates plus `ca` (PEM text, e.g. the demo's `tls/ca.pem`),
 * for this client only: nothing process-wide changes. Node only (browsers trust what the system trusts).
 */
export function fetchTrusting(ca: string | readonly string[]): { fetch: FetchLike; close(): Promise<void> } {
  const extra = typeof ca === 'string' ? [ca] : [...ca];
  if (extra.some((pem) => !pem.includes('-----BEGIN CERTIFICATE-----')))
    throw new TypeError('ca must be PEM text (-----BEGIN CERTIFICATE-----…), not a file name');
  const dispatcher = new Agent({ connect: { ca: [...rootCertificates, ...extra] } });
  return {
    fetch: (url, init) =>
      undiciFetch(url, {
        ...(init as Parameters<typeof undiciFetch>[1]),
        dispatcher,
      }) as unknown as Promise<Response>,
    // Idle keep-alive connections would otherwise hold a command-line process open for seconds.
    close: () => dispatcher.close(),
  };
}
