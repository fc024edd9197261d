import { type CliIo, type Command, commandHelp, EXIT, parseCommandArgs, writeLine } from './command.ts';
import { commands } from './commands/index.ts';

/** The `strongroom` CLI. Returns the exit code; the only caller that exits the process is bin/strongroom.js. */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const { command, rest } = resolveCommand(argv);
  if (!command) {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      writeLine(io.stdout, usage());
      return EXIT.ok;
    }
    writeLine(io.stderr, `strongroom: unknown command "${argv.join(' ')}"\n\n${usage()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    writeLine(io.stdout, commandHelp(command));
    return EXIT.ok;
  }
  const args = parseCommandArgs(command, rest, io);
  if (!args) return EXIT.usage;
  try {
    return await command.run(args, io);
  } catch (error) {
    writeLine(io.stderr, `strongroom ${command.name}: ${(error as Error).message}`);
    return EXIT.failure;
  }
}

/** Longest match: `users add` wins over `users`. */
function resolveCommand(argv: string[]): { command: Command | undefined; rest: string[] } {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  for (let n = words.length; n > 0; n--) {
    const name = words.slice(0, n).join(' ');
    const command = commands.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(n) };
  }
  return { command: undefined, rest: argv };
}

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'Usage: strongroom <command> [options]   (npm run strongroom -- <command> [options])',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    '',
    'Run `strongroom <command> --help` for the options of a command.',
  ].join('\n');
}

function defaultIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
}
