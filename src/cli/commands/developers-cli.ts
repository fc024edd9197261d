import type { App } from '../../app.ts';
import { type CliIo, type Command, type CommandArgs, EXIT, output, withApp, writeLine } from '../command.ts';

/** Shared plumbing of the developers module's commands (orgs, apps, api-keys, plans, usage). */
export function developersOf(app: App) {
  return app.services.developers;
}

export function requireOption(args: CommandArgs, io: CliIo, name: string): string | undefined {
  const value = args.options[name];
  if (typeof value === 'string' && value.trim() !== '') return value;
  writeLine(io.stderr, `--${name} is required`);
  return undefined;
}

export function optionalString(args: CommandArgs, name: string): string | undefined {
  const value = args.options[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A command that needs a prepared app (migrated store, services). Changes reach running servers via the change feed. */
export function appCommand(
  spec: Omit<Command, 'run'>,
  run: (app: App, args: CommandArgs, io: CliIo) => Promise<number>,
): Command {
  return {
    ...spec,
    run: (args, io) => withApp(args.config, (app) => run(app, args, io)),
  };
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((row) => columns.map((c) => String(row[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

export { EXIT, output };
