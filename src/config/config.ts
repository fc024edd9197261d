import { parseArgs } from 'node:util';
import { convert, type Kind } from './option-values.ts';
import { resolveUpstreamApis, type UpstreamApi } from './upstream-apis.ts';

/**
 * Strongroom's configuration: one frozen, typed object built from flags and environment variables
 * (DESIGN.md §3). Every flag `--some-flag` is also `STRONGROOM_SOME_FLAG`; `DATABASE_URL` and `REDIS_URL`
 * also work without the prefix. Flags win over environment variables. This is the only module that
 * reads `process.env` (through the `env` argument of `loadConfig`).
 */
export interface Config {
  /** TCP port of the HTTPS (or, behind a proxy, HTTP) listener. Default 8443. */
  readonly port: number;
  /** Interface to bind. Default 127.0.0.1. */
  readonly host: string;
  /** Absolute path of the data directory (SQLite file, TLS material, demo.json, key-encryption key). */
  readonly dataDir: string;
  /** `postgres://…` for PostgreSQL; undefined for the embedded SQLite file `<dataDir>/strongroom.db`. */
  readonly databaseUrl: string | undefined;
  /** `redis://…` to share rate limits, caches and events between processes; undefined for in-memory. */
  readonly redisUrl: string | undefined;
  /** Public base URL without trailing slash, e.g. `https://localhost:8443`. */
  readonly publicUrl: string;
  /** PEM files of a real certificate; without them a local CA and certificate are generated. */
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  /**
   * Addresses/CIDRs of TLS-terminating proxies whose `X-Forwarded-*` headers are trusted. When set the
   * listener speaks plain HTTP (TLS is the proxy's job). Empty: HTTPS, forwarded headers ignored.
   */
  readonly trustProxy: readonly string[];
  /** Seed the demo institution into an empty store and write `<dataDir>/demo.json`. */
  readonly demo: boolean;
  /** The institution's IANA time zone (transfer due dates). Default UTC. */
  readonly timeZone: string;
  /** pino level. Default info. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Name of the institution shown on pages. */
  readonly institutionName: string;
  /** Base64 32-byte key-encryption key; default: generated once into `<dataDir>/kek` (mode 0600). */
  readonly kek: string | undefined;
  /** Optional JSON/YAML config file with `apis` and `upstreams` maps. */
  readonly configFile: string | undefined;
  /**
   * APIs proxied to upstream services, each with its parsed OpenAPI document: `--api name=file` paired
   * with `--upstream name=url` (both repeatable), over the same maps in the `--config` file.
   */
  readonly upstreamApis: readonly UpstreamApi[];
  /** Deadline of every Redis command, ms (DESIGN.md §5.2). Default 250. */
  readonly redisTimeoutMs: number;
  /** PostgreSQL connect deadline, ms. Default 2000. */
  readonly dbConnectTimeoutMs: number;
  /** PostgreSQL statement deadline (server-side `statement_timeout` and client-side query timeout), ms. Default 5000. */
  readonly dbStatementTimeoutMs: number;
  /**
   * Seconds in-flight requests get to finish after SIGTERM (DESIGN.md §5.2); then every connection is
   * closed, metering flushed and the store closed. Default 10.
   */
  readonly shutdownGrace: number;
}

/** Option keys: Config fields, plus the two maps that are resolved together into `upstreamApis`. */
type OptionKey = keyof Config | 'apis' | 'upstreams';

/** The documented option table; README's configuration table mirrors it (`strongroom start --help`). */
export const OPTIONS = [
  { key: 'port', flag: 'port', kind: 'port', default: '8443', help: 'TCP port to listen on' },
  { key: 'host', flag: 'host', kind: 'string', default: '127.0.0.1', help: 'Interface to bind' },
  {
    key: 'dataDir',
    flag: 'data-dir',
    kind: 'path',
    default: './.strongroom',
    help: 'Data directory (SQLite file, TLS material, demo.json, key-encryption key)',
  },
  {
    key: 'databaseUrl',
    flag: 'database-url',
    kind: 'url',
    default: undefined,
    help: 'postgres:// URL; default: embedded SQLite in the data directory',
    bareEnv: 'DATABASE_URL',
  },
  {
    key: 'redisUrl',
    flag: 'redis-url',
    kind: 'url',
    default: undefined,
    help: 'redis:// URL for shared rate limits, caches and events',
    bareEnv: 'REDIS_URL',
  },
  {
    key: 'publicUrl',
    flag: 'public-url',
    kind: 'url',
    default: undefined,
    help: 'Public base URL (default https://localhost:<port>)',
  },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    kind: 'path',
    default: undefined,
    help: 'PEM certificate chain (default: generated local CA + certificate)',
  },
  {
    key: 'tlsKey',
    flag: 'tls-key',
    kind: 'path',
    default: undefined,
    help: 'PEM private key for --tls-cert',
  },
  {
    key: 'trustProxy',
    flag: 'trust-proxy',
    kind: 'list',
    default: undefined,
    help: 'Comma-separated proxy addresses/CIDRs; serve plain HTTP behind them',
  },
  {
    key: 'demo',
    flag: 'demo',
    kind: 'boolean',
    default: 'false',
    help: 'Seed the demo institution into an empty store and write demo.json',
  },
  {
    key: 'timeZone',
    flag: 'time-zone',
    kind: 'timeZone',
    default: 'UTC',
    help: "The institution's IANA time zone",
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    kind: 'level',
    default: 'info',
    help: 'Log level (fatal … trace, silent)',
  },
  {
    key: 'institutionName',
    flag: 'institution-name',
    kind: 'string',
    default: 'Strongroom Demo Bank',
    help: 'Institution name shown on pages',
  },
  {
    key: 'kek',
    flag: 'kek',
    kind: 'string',
    default: undefined,
    help: 'Base64 32-byte key-encryption key (default: <data-dir>/kek, generated once); environment only',
    envOnly: true,
  },
  {
    key: 'apis',
    flag: 'api',
    kind: 'map',
    default: undefined,
    help: 'Register an API: name=openapi-file (repeatable)',
  },
  {
    key: 'upstreams',
    flag: 'upstream',
    kind: 'map',
    default: undefined,
    help: 'Proxy an API to an upstream: name=url (repeatable)',
  },
  {
    key: 'shutdownGrace',
    flag: 'shutdown-grace',
    kind: 'seconds',
    default: '10',
    help: 'Seconds in-flight requests get on SIGTERM before connections are closed',
  },
  {
    key: 'configFile',
    flag: 'config',
    kind: 'path',
    default: undefined,
    help: 'JSON or YAML file with "apis" and "upstreams" maps',
  },
  {
    key: 'redisTimeoutMs',
    flag: 'redis-timeout-ms',
    kind: 'ms',
    default: '250',
    help: 'Deadline of every Redis command (ms)',
  },
  {
    key: 'dbConnectTimeoutMs',
    flag: 'db-connect-timeout-ms',
    kind: 'ms',
    default: '2000',
    help: 'PostgreSQL connect deadline (ms)',
  },
  {
    key: 'dbStatementTimeoutMs',
    flag: 'db-statement-timeout-ms',
    kind: 'ms',
    default: '5000',
    help: 'PostgreSQL statement deadline (ms)',
  },
] as const satisfies readonly {
  key: OptionKey;
  flag: string;
  kind: Kind;
  default: string | undefined;
  help: string;
  bareEnv?: string;
  /** Secrets: accepted from the environment only, so they never appear in a process listing. */
  envOnly?: boolean;
}[];

/** `--data-dir` → `STRONGROOM_DATA_DIR`. */
export function envName(flag: string): string {
  return `STRONGROOM_${flag.toUpperCase().replaceAll('-', '_')}`;
}

export interface ConfigIssue {
  name: string;
  message: string;
}

/** Options of a particular command, parsed beside the configuration flags. */
export type ExtraOptions = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;
export type ExtraValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export type ConfigResult =
  | { ok: true; config: Config; rest: string[]; extras: ExtraValues }
  | { ok: false; issues: ConfigIssue[] };

/**
 * Parse flags (`argv`, without the command name) and environment variables into a Config.
 * Reports every problem at once instead of stopping at the first.
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string = process.cwd(),
  extraOptions: ExtraOptions = {},
): ConfigResult {
  const issues: ConfigIssue[] = [];
  const parseOptions: ExtraOptions = { ...extraOptions };
  for (const option of OPTIONS) {
    if ('envOnly' in option) continue;
    parseOptions[option.flag] = {
      type: option.kind === 'boolean' ? 'boolean' : 'string',
      ...(option.kind === 'map' ? { multiple: true } : {}),
    };
  }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined> = {};
  let positionals: string[] = [];
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: parseOptions,
      strict: true,
      allowPositionals: true,
    });
    values = parsed.values;
    positionals = parsed.positionals;
  } catch (error) {
    issues.push({ name: 'arguments', message: (error as Error).message });
    return { ok: false, issues };
  }

  const raw: Partial<Record<OptionKey, unknown>> = {};
  const givenAs: Partial<Record<OptionKey, string>> = {};
  for (const option of OPTIONS) {
    const fromFlag = values[option.flag];
    const fromEnv = env[envName(option.flag)] ?? ('bareEnv' in option ? env[option.bareEnv] : undefined);
    const name = fromFlag !== undefined ? `--${option.flag}` : envName(option.flag);
    const value = fromFlag ?? (fromEnv === '' ? undefined : fromEnv) ?? option.default;
    if (value === undefined) continue;
    const result = convert(option.kind, value, cwd);
    givenAs[option.key] = name;
    if (!result.ok) issues.push({ name, message: result.message });
    else raw[option.key] = result.value;
  }
  const upstreamApis = resolveUpstreamApis({
    apis: (raw.apis as Record<string, string> | undefined) ?? {},
    upstreams: (raw.upstreams as Record<string, string> | undefined) ?? {},
    configFile: raw.configFile as string | undefined,
    configFileName: givenAs.configFile,
    cwd,
  });
  issues.push(...upstreamApis.issues);

  const port = (raw.port as number | undefined) ?? 8443;
  if (raw.databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(raw.databaseUrl as string)) {
    issues.push({
      name: 'DATABASE_URL',
      message: 'must be a postgres:// or postgresql:// URL (leave it unset for the embedded SQLite store)',
    });
  }
  if (raw.redisUrl !== undefined && !/^rediss?:\/\//.test(raw.redisUrl as string)) {
    issues.push({ name: 'REDIS_URL', message: 'must be a redis:// or rediss:// URL' });
  }
  if ((raw.tlsCert === undefined) !== (raw.tlsKey === undefined)) {
    issues.push({
      name: '--tls-cert/--tls-key',
      message: 'give both the certificate and its key, or neither',
    });
  }
  const trustProxy = (raw.trustProxy as string[] | undefined) ?? [];
  const publicUrl = (
    (raw.publicUrl as string | undefined) ?? `${trustProxy.length ? 'http' : 'https'}://localhost:${port}`
  ).replace(/\/+$/, '');
  if (raw.publicUrl !== undefined) {
    const url = new URL(publicUrl);
    if (url.pathname !== '/' && url.pathname !== '') {
      issues.push({
        name: '--public-url',
        message: 'must be an origin without a path, e.g. https://api.bank.example',
      });
    }
    if (url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) {
      issues.push({ name: '--public-url', message: 'must use https:// (http:// only for localhost)' });
    }
  }
  if (raw.kek !== undefined && Buffer.from(raw.kek as string, 'base64').length !== 32) {
    issues.push({
      name: envName('kek'),
      message: 'must be 32 bytes, base64-encoded (openssl rand -base64 32)',
    });
  }
  if (issues.length > 0) return { ok: false, issues };

  const config: Config = {
    port,
    host: (raw.host as string | undefined) ?? '127.0.0.1',
    dataDir: raw.dataDir as string,
    databaseUrl: raw.databaseUrl as string | undefined,
    redisUrl: raw.redisUrl as string | undefined,
    publicUrl,
    tlsCert: raw.tlsCert as string | undefined,
    tlsKey: raw.tlsKey as string | undefined,
    trustProxy: Object.freeze(trustProxy),
    demo: (raw.demo as boolean | undefined) ?? false,
    timeZone: raw.timeZone as string,
    logLevel: raw.logLevel as Config['logLevel'],
    institutionName: raw.institutionName as string,
    kek: raw.kek as string | undefined,
    configFile: raw.configFile as string | undefined,
    upstreamApis: Object.freeze(upstreamApis.apis),
    redisTimeoutMs: raw.redisTimeoutMs as number,
    dbConnectTimeoutMs: raw.dbConnectTimeoutMs as number,
    dbStatementTimeoutMs: raw.dbStatementTimeoutMs as number,
    shutdownGrace: raw.shutdownGrace as number,
  };
  const extras: ExtraValues = {};
  for (const name of Object.keys(extraOptions)) extras[name] = values[name];
  return { ok: true, config: Object.freeze(config), rest: positionals, extras };
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/** Human-readable option table for `--help`. */
export function optionsHelp(): string {
  return OPTIONS.map((o) => {
    const flag =
      'envOnly' in o
        ? '(environment only)'
        : `--${o.flag}${o.kind === 'boolean' ? '' : ` <${o.kind === 'map' ? 'name=value' : o.kind}>`}`;
    const envs = [envName(o.flag), 'bareEnv' in o ? o.bareEnv : undefined].filter(Boolean).join(', ');
    const def = o.default === undefined ? '' : ` (default ${o.default})`;
    return `  ${flag.padEnd(30)} ${o.help}${def}\n  ${''.padEnd(30)} env: ${envs}`;
  }).join('\n');
}
