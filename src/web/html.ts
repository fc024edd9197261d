/**
 * Server-side HTML with escaping by default: every interpolated value is escaped unless it is itself
 * the result of `html` (or `raw`). Arrays are joined. Pages have no inline scripts or styles (the CSP
 * forbids them); styles come from /static/.
 */
export interface SafeHtml {
  readonly __html: string;
  toString(): string;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (typeof value === 'object' && '__html' in (value as object)) return (value as SafeHtml).__html;
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return raw(out);
}

/** Trusted markup (never user input). */
export function raw(markup: string): SafeHtml {
  return { __html: markup, toString: () => markup };
}
