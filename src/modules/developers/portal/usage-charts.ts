import type { SafeHtml } from '../../../web/html.ts';
import { type Series, usageCharts } from '../../../web/portal/charts.ts';
import type { UsageItem } from '../usage-reports.ts';
import type { Portal } from './portal-context.ts';

/** The usage charts of an application's keys over the last 14 days. */
export async function keyUsageCharts(portal: Portal, keyIds: string[]): Promise<SafeHtml> {
  const { days, items } = await portal.deps.usageReports.daily(keyIds, 14);
  const total = (keep: (item: UsageItem) => boolean) =>
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
  return usageCharts({ perDay, errorsByStatus, rateLimitedPerDay });
}
