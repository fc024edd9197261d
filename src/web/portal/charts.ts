import { html, type SafeHtml } from '../html.ts';

/** Usage charts: accessible SVG bar charts with a title and a description. */

export interface Series {
  label: string;
  value: number;
}

/** An accessible bar chart: SVG with a title and description, plus the same data as a table. */
function barChart(input: {
  id: string;
  title: string;
  series: Series[];
  unit: string;
  tone?: string;
}): SafeHtml {
  const width = 640;
  const height = 180;
  const pad = { top: 10, bottom: 30, left: 40, right: 10 };
  const max = Math.max(1, ...input.series.map((s) => s.value));
  const n = Math.max(1, input.series.length);
  const slot = (width - pad.left - pad.right) / n;
  const barWidth = Math.max(2, slot * 0.7);
  const plotHeight = height - pad.top - pad.bottom;
  const bars = input.series.map((s, i) => {
    const h = Math.round((s.value / max) * plotHeight);
    const x = Math.round(pad.left + i * slot + (slot - barWidth) / 2);
    const y = pad.top + plotHeight - h;
    const showLabel = n <= 16 || i % Math.ceil(n / 8) === 0;
    return html`<rect class="bar ${input.tone ?? ''}" x="${x}" y="${y}" width="${Math.round(barWidth)}" height="${h}"><title>${s.label}: ${s.value} ${input.unit}</title></rect>${
      showLabel
        ? html`<text class="axis-label" x="${Math.round(x + barWidth / 2)}" y="${height - 10}" text-anchor="middle">${s.label}</text>`
        : ''
    }`;
  });
  const total = input.series.reduce((sum, s) => sum + s.value, 0);
  return html`<figure class="chart">
<figcaption><strong>${input.title}</strong> <span class="muted small">(total ${total})</span></figcaption>
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${input.id}-title ${input.id}-desc" preserveAspectRatio="xMidYMid meet">
<title id="${input.id}-title">${input.title}</title>
<desc id="${input.id}-desc">${input.series.map((s) => `${s.label}: ${s.value}`).join(', ') || 'no data'}</desc>
<line class="axis" x1="${pad.left}" y1="${pad.top + plotHeight}" x2="${width - pad.right}" y2="${pad.top + plotHeight}"></line>
<text class="axis-label" x="${pad.left - 6}" y="${pad.top + 10}" text-anchor="end">${max}</text>
<text class="axis-label" x="${pad.left - 6}" y="${pad.top + plotHeight}" text-anchor="end">0</text>
${bars}
</svg>
</figure>`;
}

/** A horizontal bar chart for long labels (keys, operations): one row per item, the label above its bar. */
function rowChart(input: { id: string; title: string; series: Series[]; unit: string }): SafeHtml {
  const width = 640;
  const row = 34;
  const height = Math.max(1, input.series.length) * row;
  const max = Math.max(1, ...input.series.map((s) => s.value));
  const plot = width - 80;
  const total = input.series.reduce((sum, s) => sum + s.value, 0);
  const rows = input.series.map((s, i) => {
    const y = i * row;
    const w = Math.max(s.value > 0 ? 2 : 0, Math.round((s.value / max) * plot));
    return html`<text class="axis-label" x="0" y="${y + 12}">${s.label}</text>
<rect class="bar" x="0" y="${y + 16}" width="${w}" height="12"><title>${s.label}: ${s.value} ${input.unit}</title></rect>
<text class="axis-label" x="${w + 6}" y="${y + 27}">${s.value}</text>`;
  });
  return html`<figure class="chart">
<figcaption><strong>${input.title}</strong> <span class="muted small">(total ${total})</span></figcaption>
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${input.id}-title ${input.id}-desc" preserveAspectRatio="xMinYMin meet">
<title id="${input.id}-title">${input.title}</title>
<desc id="${input.id}-desc">${input.series.map((s) => `${s.label}: ${s.value}`).join(', ') || 'no data'}</desc>
${rows}
</svg>
</figure>`;
}

export function usageCharts(input: {
  perDay: Series[];
  errorsByStatus: Series[];
  rateLimitedPerDay: Series[];
  perKey?: Series[];
  perOperation?: Series[];
}): SafeHtml {
  return html`<div class="charts">
${barChart({ id: 'calls-per-day', title: 'Calls per day', series: input.perDay, unit: 'calls' })}
${
  input.errorsByStatus.length
    ? barChart({
        id: 'errors-by-status',
        title: 'Errors by status',
        series: input.errorsByStatus,
        unit: 'answers',
        tone: 'bar-error',
      })
    : html`<p class="muted">No errors in this period.</p>`
}
${barChart({ id: 'rate-limited', title: 'Rate-limited calls (429) per day', series: input.rateLimitedPerDay, unit: 'calls', tone: 'bar-warning' })}
${input.perKey?.length ? rowChart({ id: 'calls-per-key', title: 'Calls per key', series: input.perKey, unit: 'calls' }) : ''}
${
  input.perOperation?.length
    ? rowChart({
        id: 'calls-per-operation',
        title: 'Calls per operation',
        series: input.perOperation,
        unit: 'calls',
      })
    : input.perOperation
      ? html`<p class="muted">No calls in this period.</p>`
      : ''
}
</div>`;
}
