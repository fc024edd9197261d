import { isoAt } from '../../../lib/clock.ts';
import type { SafeHtml } from '../../../web/html.ts';
import { type Series, usageCharts } from '../../../web/portal/charts.ts';
import type { Portal } from './portal-context.ts';

const DAY = 86_400_000;
const DAYS = 14;

/** The usage charts of an application's keys over the last 14 days (metering flushed first). */
export async function keyUsageCharts(portal: Portal, keyIds: string[]): Promise<SafeHtml> {
  const { clock } = portal.deps.context;
  const firstDay = Math.floor(clock.now() / DAY) * DAY - (DAYS - 1) * DAY;
  if (keyIds.length > 0) await portal.deps.usage.flush().catch(() => {});
  const rows = await portal.deps.store.dailyUsage(keyIds, isoAt(firstDay));
  const days = Array.from({ length: DAYS }, (_, i) => isoAt(firstDay + i * DAY));
  const total = (keep: (row: (typeof rows)[number]) => boolean) =>
    rows.filter(keep).reduce((sum, row) => sum + row.count, 0);
  const perDay: Series[] = days.map((day) => ({
    label: day.slice(5, 10),
    value: total((row) => row.bucket === day),
  }));
  const rateLimitedPerDay: Series[] = days.map((day) => ({
    label: day.slice(5, 10),
    value: total((row) => row.bucket === day && row.status === 429),
  }));
  const statuses = [...new Set(rows.filter((row) => row.status >= 400).map((row) => row.status))].sort();
  const errorsByStatus: Series[] = statuses.map((status) => ({
    label: String(status),
    value: total((row) => row.status === status),
  }));
  return usageCharts({ perDay, errorsByStatus, rateLimitedPerDay });
}
