import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { waitFor } from './wait.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/strongroom.js');

/** A `strongroom` CLI run in a child process (the real entry point), with its output captured. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves to the exit code (or the signal's name) and when it came (performance.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Wait until stdout matches `pattern` (fails after `timeoutMs`, or as soon as the process exits). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Run `bin/strongroom.js <args>` on this test's Node 24 with `env` added to a minimal environment
 * (PATH and HOME only, so no STRONGROOM_* of the developer's shell leaks in).
 */
export function runCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    err += chunk;
  });
  let done = false;
  const exited = once(child, 'exit').then(([code, signal]) => {
    done = true;
    return { code: code as number | null, signal: signal as NodeJS.Signals | null, at: performance.now() };
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(pattern, timeoutMs = 60_000) {
      await waitFor(
        () => {
          if (pattern.test(out)) return true;
          if (done) throw new Error(`the CLI exited before printing ${pattern}:\n${out}\n${err}`);
          return false;
        },
        { timeoutMs, intervalMs: 25, what: `${pattern} on the CLI's stdout` },
      );
    },
    kill(signal = 'SIGTERM') {
      child.kill(signal);
    },
  };
}

/** Run a CLI command to its end; resolves to its exit code and output. */
export async function runCliToEnd(args: string[], env: Record<string, string> = {}) {
  const cli = runCli(args, env);
  cli.child.stdin?.end();
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** One free-port helper for every test (it lives beside the server fixture). */
export { freePort } from './test-app.ts';
