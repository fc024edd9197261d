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

/** Deep copy of `value` with every secret-named field replaced by `[redacted]`. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      SECRET_FIELD.test(key) && item !== undefined && item !== null
        ? REDACTED
        : redactSecrets(item, depth + 1);
  }
  return out;
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
