import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Child processes of the scale-out proof (instances, Redis, nginx, the PostgreSQL link): started here,
 * signalled by pid (never by name), and always killed when the proof's process exits, whatever happens.
 */
export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  readonly output: string[];
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
}

const live = new Set<ChildProcess>();
const killAll = () => {
  for (const child of live) child.kill('SIGKILL');
};
process.once('exit', killAll);
// 'exit' does not run when the test runner stops this process with a signal (its timeout, Ctrl-C).
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.once(sig, () => {
    killAll();
    process.exit(1);
  });

const KEPT_LINES = 200;

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Proc {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      output.push(line);
      if (output.length > KEPT_LINES) output.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (error) => {
      running = false;
      live.delete(child);
      output.push(`spawn failed: ${error.message}`);
      resolve('spawn-error');
    });
  });
  return { name, child, output, exited, isRunning: () => running };
}

/** Send a signal to this process only (by its pid). */
export function signal(proc: Proc, sig: NodeJS.Signals): void {
  if (proc.isRunning()) proc.child.kill(sig);
}

/** SIGTERM (after SIGCONT, in case it is stopped), then SIGKILL after `graceMs`; resolves once it is gone. */
export async function stopProcess(proc: Proc, graceMs = 5000): Promise<void> {
  if (!proc.isRunning()) return;
  signal(proc, 'SIGCONT');
  signal(proc, 'SIGTERM');
  const killed = await Promise.race([proc.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (killed) {
    signal(proc, 'SIGKILL');
    await proc.exited;
  }
}

/** Resolves when `pattern` appears in the process's output; fails if it exits first or after `timeoutMs`. */
export async function waitForOutput(proc: Proc, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!proc.output.some((line) => pattern.test(line))) {
    if (!proc.isRunning()) throw new Error(`${proc.name} exited: ${proc.output.slice(-20).join('\n')}`);
    if (performance.now() > deadline)
      throw new Error(`${proc.name} did not print ${pattern} in ${timeoutMs} ms: ${proc.output.join('\n')}`);
    await sleep(20);
  }
}

/** Run a command to completion; resolves with its exit code and output. */
export async function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 150_000);
  const code = await new Promise<number | string>((resolve) => {
    child.once('exit', (c, s) => resolve(c ?? s ?? 'unknown'));
    child.once('error', () => resolve('spawn-error'));
  });
  clearTimeout(timer);
  live.delete(child);
  return {
    code,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
  };
}

/** One free-port helper for every test (it lives beside the server fixture). */
export { freePort } from '../helpers/test-app.ts';
