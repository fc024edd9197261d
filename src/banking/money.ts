/**
 * Money on the wire is `{ value: "123.45", currency: "USD" }` (a decimal string) and in the store an
 * integer number of minor units. Conversion is string arithmetic, never floating point.
 */
export interface Money {
  value: string;
  currency: string;
}

/** Minor-unit digits per currency (ISO 4217); the demo institution uses USD. */
const MINOR_DIGITS: Record<string, number> = { USD: 2, EUR: 2, GBP: 2, CAD: 2, JPY: 0 };

/** Largest amount accepted anywhere (keeps every sum far below 2^53 minor units). */
const MAX_MINOR = 1_000_000_000_00;

/**
 * Parse a decimal string into minor units. Undefined when it is not a plain decimal with at most the
 * currency's number of fraction digits, or is out of range.
 */
export function toMinor(value: string, currency: string): number | undefined {
  const digits = MINOR_DIGITS[currency];
  if (digits === undefined) return undefined;
  const match = /^(-?)(\d{1,15})(?:\.(\d+))?$/.exec(value);
  if (!match) return undefined;
  const [, sign, whole = '0', fraction = ''] = match;
  if (fraction.length > digits) return undefined;
  const minor = Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  if (!Number.isSafeInteger(minor) || minor > MAX_MINOR) return undefined;
  return sign === '-' ? -minor : minor;
}

/** Format minor units as the decimal string of the currency. */
export function fromMinor(minor: number, currency: string): string {
  const digits = MINOR_DIGITS[currency] ?? 2;
  const negative = minor < 0;
  const text = String(Math.abs(minor)).padStart(digits + 1, '0');
  const whole = digits === 0 ? text : text.slice(0, -digits);
  const fraction = digits === 0 ? '' : `.${text.slice(-digits)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

export function money(minor: number, currency: string): Money {
  return { value: fromMinor(minor, currency), currency };
}
