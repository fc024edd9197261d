import type { FastifyRequest } from 'fastify';
import { AppError } from '../../../errors/index.ts';
import { isoAt, parseIso } from '../../../lib/clock.ts';
import type { SafeHtml } from '../../../web/html.ts';
import { type Series, usageCharts } from '../../../web/portal/charts.ts';
import type { UsageItem } from '../usage-reports.ts';
import type { Portal } from './portal-context.ts';

const DAY = 86_400_000;
/** The default span (today and the 13 days before) and the longest one a page may ask for. */
const DEFAULT_DAYS = 14;
export const MAX_RANGE_DAYS = 92;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The chosen period and key of an application page's usage charts (`?from=&to=&key=`). */
export interface UsageRange {
  from: string;
  to: string;
  key?: string;
}

type FieldError = { in: 'query'; name: string; message: string };

/** A `YYYY-MM-DD` day as the epoch ms of its start, or undefined when it is not a real date. */
function dayOf(value: string): number | undefined {
  if (!DATE.test(value)) return undefined;
  const ms = parseIso(`${value}T00:00:00.000Z`);
  return Number.isNaN(ms) || isoAt(ms).slice(0, 10) !== value ? undefined : ms;
}

/**
 * The usage range of a request: `from`/`to` days (UTC, both included, at most 92 days, `to` not after
 * today) and an optional key of the application; a bad value is a 400 listing every error.
 */
export function usageRange(request: FastifyRequest, today: number, keyIds: string[]): UsageRange {
  const query = request.query as Record<string, unknown>;
  const text = (name: string) =>
    typeof query[name] === 'string' && query[name] !== '' ? query[name] : undefined;
  const todayStart = Math.floor(today / DAY) * DAY;
  const errors: FieldError[] = [];
  const parse = (name: 'from' | 'to', fallback: number) => {
    const value = text(name);
    if (value === undefined) return fallback;
    const ms = dayOf(value);
    if (ms === undefined) errors.push({ in: 'query', name, message: 'must be a date (YYYY-MM-DD)' });
    return ms ?? fallback;
  };
  const to = parse('to', todayStart);
  const from = parse('from', to - (DEFAULT_DAYS - 1) * DAY);
  if (errors.length === 0) {
    if (to > todayStart) errors.push({ in: 'query', name: 'to', message: 'must not be after today' });
    if (from > to) errors.push({ in: 'query', name: 'from', message: 'must not be after to' });
    else if ((to - from) / DAY + 1 > MAX_RANGE_DAYS)
      errors.push({ in: 'query', name: 'from', message: `the range spans at most ${MAX_RANGE_DAYS} days` });
  }
  const key = text('key');
  if (key !== undefined && !keyIds.includes(key))
    errors.push({ in: 'query', name: 'key', message: 'is not a key of this application' });
  if (errors.length > 0)
    throw new AppError('badRequest', { detail: 'The usage range is not valid.', errors });
  return { from: isoAt(from).slice(0, 10), to: isoAt(to).slice(0, 10), ...(key ? { key } : {}) };
}

/** The usage charts of an application's keys (or one of them) over a range: per day, key, operation, status. */
export async function keyUsageCharts(
  portal: Portal,
  keys: { id: string; prefix: string; last4: string }[],
  range: UsageRange,
): Promise<SafeHtml> {
  const chosen = range.key ? keys.filter((key) => key.id === range.key) : keys;
  const { days, items } = await portal.deps.usageReports.range(
    chosen.map((key) => key.id),
    parseIso(`${range.from}T00:00:00.000Z`),
    parseIso(`${range.to}T00:00:00.000Z`),
  );
  const total = (keep: (item: UsageItem & { keyId: string }) => boolean) =>
    items.filter(keep).reduce((sum, item) => sum + item.count, 0);
  const perDay: Series[] = days.map((day) => ({
    label: day.slice(5, 10),
    value: total((item) => item.bucket === day),
  }));
  const rateLimitedPerDay: Series[] = days.map((day) => ({
    label: day.slice(5, 10),
    value: total((item) => item.bucket === day && item.status === 429),
  }));
  const statuses = [...new Set(items.filter((item) => item.status >= 400).map((item) => item.status))].sort();
  const errorsByStatus: Series[] = statuses.map((status) => ({
    label: String(status),
    value: total((item) => item.status === status),
  }));
  const perKey: Series[] = chosen.map((key) => ({
    label: `${key.prefix}…${key.last4}`,
    value: total((item) => item.keyId === key.id),
  }));
  const operations = [...new Set(items.map((item) => `${item.api} ${item.operationId}`))].sort();
  const perOperation: Series[] = operations
    .map((operation) => ({
      label: operation,
      value: total((item) => `${item.api} ${item.operationId}` === operation),
    }))
    .sort((a, b) => b.value - a.value);
  return usageCharts({ perDay, errorsByStatus, rateLimitedPerDay, perKey, perOperation });
}
