import { isIP } from 'node:net';
import path from 'node:path';

/** How an option's raw value (flag or environment variable) is checked and converted (config.ts's table). */
export type Kind =
  | 'port'
  | 'string'
  | 'url'
  | 'boolean'
  | 'list'
  | 'map'
  | 'level'
  | 'timeZone'
  | 'path'
  | 'ms'
  | 'seconds';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Converted = { ok: true; value: unknown } | { ok: false; message: string };

/** One option's value, converted, or why it is refused (the message never echoes a URL's credentials). */
export function convert(kind: Kind, value: string | boolean | (string | boolean)[], cwd: string): Converted {
  switch (kind) {
    case 'boolean': {
      if (typeof value === 'boolean') return { ok: true, value };
      const text = String(value).toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(text)) return { ok: true, value: true };
      if (['0', 'false', 'no', 'off'].includes(text)) return { ok: true, value: false };
      return { ok: false, message: `expected true or false, got "${value}"` };
    }
    case 'port': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 65535) {
        return { ok: false, message: `expected a port number 0-65535, got "${value}"` };
      }
      return { ok: true, value: n };
    }
    case 'url': {
      try {
        new URL(String(value));
        return { ok: true, value: String(value) };
      } catch {
        return { ok: false, message: `expected a URL, got "${redactUrl(String(value))}"` };
      }
    }
    case 'path':
      return { ok: true, value: path.resolve(cwd, String(value)) };
    case 'ms': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 600_000) {
        return { ok: false, message: `expected milliseconds 1-600000, got "${value}"` };
      }
      return { ok: true, value: n };
    }
    case 'seconds': {
      const n = Number(value);
      return Number.isFinite(n) && n >= 0 && String(value).trim() !== ''
        ? { ok: true, value: n }
        : { ok: false, message: `expected a number of seconds (0 or more), got "${value}"` };
    }
    case 'string':
      return String(value).length > 0
        ? { ok: true, value: String(value) }
        : { ok: false, message: 'must not be empty' };
    case 'level':
      return LEVELS.includes(String(value))
        ? { ok: true, value: String(value) }
        : { ok: false, message: `expected one of ${LEVELS.join(', ')}, got "${value}"` };
    case 'timeZone':
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: String(value) });
        return { ok: true, value: String(value) };
      } catch {
        return { ok: false, message: `unknown time zone "${value}" (use an IANA name such as Europe/Paris)` };
      }
    case 'list': {
      const items = String(value)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = items.filter((item) => !isAddressOrCidr(item));
      return bad.length
        ? { ok: false, message: `not an IP address or CIDR: ${bad.join(', ')}` }
        : { ok: true, value: items };
    }
    case 'map': {
      const entries = Array.isArray(value) ? value.map(String) : String(value).split(',');
      const map: Record<string, string> = {};
      for (const entry of entries) {
        const at = entry.indexOf('=');
        if (at <= 0) return { ok: false, message: `expected name=value, got "${entry}"` };
        map[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
      }
      return { ok: true, value: map };
    }
  }
}

function isAddressOrCidr(item: string): boolean {
  const [address, bits, extra] = item.split('/');
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

/** Never echo credentials embedded in a URL. */
export function redactUrl(value: string): string {
  return value.replace(/\/\/[^@/]*@/, '//***@');
}
