import type { Readable, Writable } from 'node:stream';
import { type App, type CreateAppOptions, createApp } from '../app.ts';
import {
  type Config,
  type ExtraOptions,
  type ExtraValues,
  loadConfig,
  optionsHelp,
} from '../config/index.ts';

/** Where a command reads and writes; injected so commands are testable in-process. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/** Exit codes: 0 ok, 1 failure, 2 usage or configuration error. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export interface Command {
  /** e.g. `migrate`, `users add`. */
  name: string;
  summary: string;
  /** Options besides the configuration flags. */
  options?: ExtraOptions;
  /** Extra help text: arguments and examples. */
  usage?: string;
  run(args: CommandArgs, io: CliIo): Promise<number>;
}

export interface CommandArgs {
  config: Config;
  options: ExtraValues;
  positionals: string[];
  json: boolean;
}

export function writeLine(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}

export function commandHelp(command: Command): string {
  const extras = Object.entries(command.options ?? {})
    .map(([name, o]) => `  --${name}${o.type === 'string' ? ' <value>' : ''}`)
    .join('\n');
  return [
    `strongroom ${command.name} — ${command.summary}`,
    command.usage ?? '',
    extras ? `Options:\n${extras}\n  --json                         machine-readable output` : '',
    `Configuration (flags or environment variables):\n${optionsHelp()}`,
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** Parse flags for a command; prints every configuration problem at once and returns null on error. */
export function parseCommandArgs(command: Command, argv: string[], io: CliIo): CommandArgs | null {
  const result = loadConfig(argv, io.env, io.cwd, { ...command.options, json: { type: 'boolean' } });
  if (!result.ok) {
    writeLine(io.stderr, `strongroom ${command.name}: invalid configuration`);
    for (const issue of result.issues) writeLine(io.stderr, `  ${issue.name}: ${issue.message}`);
    writeLine(io.stderr, `Run \`strongroom ${command.name} --help\` for the options.`);
    return null;
  }
  return {
    config: result.config,
    options: result.extras,
    positionals: result.rest,
    json: result.extras.json === true,
  };
}

/**
 * Run `fn` with a prepared app (migrated store, modules wired, no listener). Changes made through the
 * services are written to the change log, so a running server picks them up within a second.
 */
export async function withApp<T>(
  config: Config,
  fn: (app: App) => Promise<T>,
  options: CreateAppOptions = {},
): Promise<T> {
  const app = await createApp({ ...config, demo: false, logLevel: 'warn' }, options);
  try {
    await app.prepare();
    return await fn(app);
  } finally {
    await app.close();
  }
}

/** A command that needs a prepared app (migrated store, services). Changes reach running servers via the change feed. */
export function appCommand(
  spec: Omit<Command, 'run'>,
  run: (app: App, args: CommandArgs, io: CliIo) => Promise<number>,
): Command {
  return { ...spec, run: (args, io) => withApp(args.config, (app) => run(app, args, io)) };
}

/** Read a secret from standard input (first line), for `--password-stdin`-style options. */
export async function readSecretFromStdin(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** Print data: JSON with `--json`, else a readable rendering. */
export function output(io: CliIo, json: boolean, data: unknown, text: () => string): void {
  writeLine(io.stdout, json ? JSON.stringify(data, null, 2) : text());
}
