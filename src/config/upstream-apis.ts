import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ConfigIssue } from './config.ts';

/** An API the gateway proxies to an upstream service: its OpenAPI document, read and parsed at start. */
export interface UpstreamApi {
  /** Path prefix and name, e.g. `loans` → `/loans/…`. */
  readonly name: string;
  /** Absolute path of the OpenAPI document (named in messages). */
  readonly file: string;
  /** Base URL requests are forwarded to, e.g. `http://10.0.0.7:8080/v2`. */
  readonly upstream: string;
  /** The parsed document (JSON or YAML); the gateway validates and compiles it. */
  readonly document: unknown;
}

/** Where the upstream APIs are declared: `--api`/`--upstream` flags and the `--config` file. */
export interface UpstreamApiSources {
  /** name → OpenAPI document path, relative to `cwd` (`--api name=file`, repeatable). */
  apis: Readonly<Record<string, string>>;
  /** name → upstream URL (`--upstream name=url`, repeatable). */
  upstreams: Readonly<Record<string, string>>;
  /** Absolute path of a JSON/YAML file with `apis` (paths relative to the file) and `upstreams` maps. */
  configFile: string | undefined;
  /** How the configuration file was given, for messages (`--config` or `STRONGROOM_CONFIG`). */
  configFileName?: string;
  cwd: string;
}

/**
 * Read the configuration file and every upstream API's document, pairing each API with its upstream. Flags
 * win over the file, name by name. Every problem is reported (none stops the others from being found), so
 * `strongroom start` lists them all at once with the other configuration errors.
 */
export function resolveUpstreamApis(sources: UpstreamApiSources): {
  apis: UpstreamApi[];
  issues: ConfigIssue[];
} {
  const issues: ConfigIssue[] = [];
  const files: Record<string, string> = {};
  const upstreams: Record<string, string> = {};
  if (sources.configFile) {
    const fromFile = readConfigFile(sources.configFile, sources.configFileName ?? '--config', issues);
    Object.assign(files, fromFile.apis);
    Object.assign(upstreams, fromFile.upstreams);
  }
  for (const [name, file] of Object.entries(sources.apis)) files[name] = path.resolve(sources.cwd, file);
  Object.assign(upstreams, sources.upstreams);

  const apis: UpstreamApi[] = [];
  for (const [name, file] of Object.entries(files)) {
    const upstream = upstreams[name];
    const problems = [
      upstream === undefined
        ? `${file} has no upstream (--upstream ${name}=<url>)`
        : upstreamProblem(upstream),
    ];
    let document: unknown;
    try {
      document = parseStructured(readFileSync(file, 'utf8'), file);
    } catch (error) {
      problems.push(`cannot read the OpenAPI document ${file} (${firstLine(error)})`);
    }
    for (const message of problems) if (message) issues.push({ name: `--api ${name}`, message });
    if (upstream !== undefined && problems.every((message) => !message))
      apis.push({ name, file, upstream, document });
  }
  for (const name of Object.keys(upstreams)) {
    if (!files[name])
      issues.push({ name: `--upstream ${name}`, message: `no OpenAPI document (--api ${name}=<file>)` });
  }
  return { apis, issues };
}

function readConfigFile(file: string, name: string, issues: ConfigIssue[]) {
  const apis: Record<string, string> = {};
  const upstreams: Record<string, string> = {};
  let parsed: unknown;
  try {
    parsed = parseStructured(readFileSync(file, 'utf8'), file);
  } catch (error) {
    issues.push({ name, message: `cannot read the configuration file ${file} (${firstLine(error)})` });
    return { apis, upstreams };
  }
  if (!isRecord(parsed)) {
    issues.push({ name, message: `${file} must hold an object with "apis" and "upstreams" maps` });
    return { apis, upstreams };
  }
  for (const key of ['apis', 'upstreams'] as const) {
    if (parsed[key] !== undefined && !isRecord(parsed[key])) {
      issues.push({
        name,
        message: `"${key}" in ${file} must map API names to ${key === 'apis' ? 'files' : 'URLs'}`,
      });
    }
  }
  const dir = path.dirname(file);
  if (isRecord(parsed.apis)) {
    for (const [api, value] of Object.entries(parsed.apis)) apis[api] = path.resolve(dir, String(value));
  }
  if (isRecord(parsed.upstreams)) {
    for (const [api, value] of Object.entries(parsed.upstreams)) upstreams[api] = String(value);
  }
  return { apis, upstreams };
}

/** Why `value` cannot be an upstream base URL, or undefined. Credentials in it are never echoed. */
function upstreamProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'the upstream is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'the upstream must be an http(s) URL';
  return undefined;
}

function parseStructured(text: string, file: string): unknown {
  return /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** YAML parse errors span several lines (with a code excerpt); the first says what is wrong. */
function firstLine(error: unknown): string {
  return String((error as Error).message).split('\n')[0] ?? 'unreadable';
}
