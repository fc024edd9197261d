import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Field names whose values are secrets wherever they appear in a log object (any depth): passwords,
 * secrets, tokens, codes, keys, cookies, authorization headers. Ids such as `apiKeyId` or `keyPrefix`
 * do not match and stay readable.
 */
const SECRET_FIELD =
  /^(authorization|proxy-authorization|cookie|set-cookie|api-key|apikey|api_key|key|secret|password|passwd|pass|otp|code|pin|assertion|client_assertion|code_verifier|verifier|.*(password|passwd|secret|token|cookie|_code|otp|privatekey|private_key|plaintext))$/i;

export const REDACTED = '[redacted]';

// Log objects use few distinct field names: remember each name's verdict instead of running the
// pattern on every field of every line (bounded, as field names could come from input).
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 2048;

function isSecretField(key: string): boolean {
  let verdict = verdicts.get(key);
  if (verdict === undefined) {
    verdict = SECRET_FIELD.test(key);
    if (verdicts.size < MAX_VERDICTS) verdicts.set(key, verdict);
  }
  return verdict;
}

/** Does anything in `value` (to the same depth `redactSecrets` walks) need redacting? */
function holdsSecrets(value: unknown, depth: number): boolean {
  if (depth > 8 || value === null || typeof value !== 'object' || value instanceof Error) return false;
  if (Array.isArray(value)) return value.some((item) => holdsSecrets(item, depth + 1));
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (isSecretField(key) ? item !== undefined && item !== null : holdsSecrets(item, depth + 1)) return true;
  }
  return false;
}

function redactedCopy(value: unknown, depth: number): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => redactedCopy(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      isSecretField(key) && item !== undefined && item !== null ? REDACTED : redactedCopy(item, depth + 1);
  }
  return out;
}

/**
 * `value` with every secret-named field replaced by `[redacted]`: a deep copy when something must be
 * redacted, the value itself otherwise (the request line of every request needs no copy).
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  return holdsSecrets(value, depth) ? redactedCopy(value, depth) : value;
}

export interface LoggerOptions {
  level: string;
  /** Where lines go; defaults to stdout. Tests pass a capturing stream. */
  destination?: DestinationStream;
}

/** The JSON logger of the process. Redaction is applied to every object logged, at any depth. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactSecrets(object) as Record<string, unknown>,
      },
      serializers: {
        err: (error: Error) => ({
          type: error.name,
          message: error.message,
          stack: error.stack,
          ...('code' in error ? { code: (error as { code: unknown }).code } : {}),
        }),
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
