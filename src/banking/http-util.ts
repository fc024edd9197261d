import { AppError } from '../errors/index.ts';

/** Strong ETag of a resource revision. */
export function etagOf(kind: string, id: string, revision: number): string {
  return `"${kind}-${id.slice(-8)}-${revision}"`;
}

/** Enforce an optional `If-Match` against the current ETag (412 on mismatch, DESIGN.md §4). */
export function checkIfMatch(ifMatch: string | undefined, current: string): void {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  const candidates = ifMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (!candidates.includes(current)) {
    throw new AppError('preconditionFailed', {
      detail: 'The resource has changed since it was read; fetch it again and retry.',
    });
  }
}

export interface Page {
  start: number;
  limit: number;
}

/** Paging parameters (already validated and defaulted by the gateway; re-clamped defensively). */
export function pageOf(query: Record<string, unknown>): Page {
  const start = Math.max(0, Math.min(1_000_000, Math.trunc(Number(query.start ?? 0)) || 0));
  const rawLimit = Math.trunc(Number(query.limit ?? 100)) || 100;
  if (rawLimit > 1000 || rawLimit < 1) {
    throw new AppError('badRequest', {
      detail: 'limit must be between 1 and 1000.',
      errors: [{ in: 'query', name: 'limit', message: 'must be between 1 and 1000' }],
    });
  }
  return { start, limit: rawLimit };
}

/** `{ items, start, limit, count, _links }` with next/prev links that keep the other query parameters. */
export function collection<T>(
  items: T[],
  page: Page,
  count: number,
  path: string,
  query: Record<string, string | undefined> = {},
) {
  const link = (start: number) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
    params.set('start', String(start));
    params.set('limit', String(page.limit));
    return { href: `${path}?${params.toString()}` };
  };
  const links: { self: { href: string }; next?: { href: string }; prev?: { href: string } } = {
    self: link(page.start),
  };
  if (page.start + items.length < count) links.next = link(page.start + page.limit);
  if (page.start > 0) links.prev = link(Math.max(0, page.start - page.limit));
  return { items, start: page.start, limit: page.limit, count, _links: links };
}

/** The user a banking call acts for; client-credentials tokens have none and see nothing. */
export function userOf(call: { principal?: { userId: string | undefined } | undefined }): string {
  const userId = call.principal?.userId;
  if (!userId) throw new AppError('forbidden', { detail: 'This operation needs a user access token.' });
  return userId;
}
