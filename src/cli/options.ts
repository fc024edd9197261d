import type { CliIo, CommandArgs } from './command.ts';
import { writeLine } from './command.ts';

/**
 * The one set of option helpers of the CLI commands. A helper that finds a problem writes it to standard
 * error and returns `undefined` (missing) or `null` (invalid), so a command answers `EXIT.usage`.
 */

/** The option's value, trimmed; undefined when absent or blank. */
export function stringOption(args: CommandArgs, name: string): string | undefined {
  const value = args.options[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The option's value; reports `--name is required` when it is absent. */
export function requireOption(args: CommandArgs, io: CliIo, name: string): string | undefined {
  const value = stringOption(args, name);
  if (value === undefined) writeLine(io.stderr, `--${name} is required`);
  return value;
}

/** Every name of `names` present; reports each missing one. */
export function requireOptions(args: CommandArgs, io: CliIo, names: readonly string[]): boolean {
  const missing = names.filter((name) => stringOption(args, name) === undefined);
  for (const name of missing) writeLine(io.stderr, `--${name} is required`);
  return missing.length === 0;
}

/** The option, or the first positional argument (`users disable alice` = `users disable --user alice`). */
export function subject(args: CommandArgs, io: CliIo, name: string): string | undefined {
  const value = stringOption(args, name) ?? args.positionals[0];
  if (!value) writeLine(io.stderr, `--${name} is required`);
  return value;
}

/** A comma- or space-separated list (repeatable options too); undefined when the option is absent. */
export function listOption(args: CommandArgs, name: string): string[] | undefined {
  const value = args.options[name];
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => String(v).split(/[,\s]+/)).filter(Boolean);
}

/** A positive integer: undefined when absent, null (reported) when not a positive integer. */
export function positiveIntegerOption(args: CommandArgs, io: CliIo, name: string): number | undefined | null {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (/^\d+$/.test(raw) && Number.isSafeInteger(value) && value > 0) return value;
  writeLine(io.stderr, `--${name} must be a positive integer`);
  return null;
}

/** A boolean flag. */
export function flag(args: CommandArgs, name: string): boolean {
  return args.options[name] === true;
}
