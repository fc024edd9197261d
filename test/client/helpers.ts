import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { FetchLike, StrongroomClient } from '@strongroom/client';
import { main } from '../../src/cli/main.ts';
import type { DemoApp, DemoDocument, DemoUser } from '../../src/demo/demo-file.ts';
import { createCookieJar, followAuthorization } from '../helpers/oauth-flow.ts';
import type { TestApp } from '../helpers/test-app.ts';

export function readDemo(t: TestApp): DemoDocument {
  return JSON.parse(readFileSync(path.join(t.dataDir, 'demo.json'), 'utf8')) as DemoDocument;
}

export function demoApp(demo: DemoDocument, name: 'mobile' | 'backOffice' | 'loadTest'): DemoApp {
  const app = demo.apps[name];
  assert.ok(app, `demo app ${name}`);
  return app;
}

export function demoUser(demo: DemoDocument, username: string): DemoUser {
  const user = demo.users.find((u) => u.username === username);
  assert.ok(user, `demo user ${username}`);
  return user;
}

/** The ids of the accounts a demo user may view. */
export function viewableAccounts(user: DemoUser): string[] {
  return user.entitlements
    .filter((e) => e.resource === 'account' && e.permissions.includes('view'))
    .map((e) => e.id)
    .sort();
}

export interface RecordedCall {
  method: string;
  path: string;
  status: number;
  /** For token requests: the grant type. */
  grantType?: string;
}

/**
 * A `fetch` for the SDK that records every exchange (method, path, status, token grant type), so a
 * test sees what the client sent: refreshes, retries, 401s and 429s. `before` runs ahead of each request.
 */
export function recordingFetch(before?: (url: URL, init: RequestInit | undefined) => void) {
  const calls: RecordedCall[] = [];
  const fetch: FetchLike = async (url, init) => {
    const target = new URL(url);
    before?.(target, init);
    const body = init?.body;
    const grantType =
      typeof body === 'string' || body instanceof URLSearchParams
        ? (new URLSearchParams(body.toString()).get('grant_type') ?? undefined)
        : undefined;
    const response = await globalThis.fetch(url, init);
    calls.push({ method: init?.method ?? 'GET', path: target.pathname, status: response.status, grantType });
    return response;
  };
  return {
    fetch,
    calls,
    refreshes: () => calls.filter((c) => c.grantType === 'refresh_token').length,
    since(mark: number) {
      return calls.slice(mark);
    },
  };
}

/** The web-app flow end to end: authorizationUrl() → the real sign-in pages → handleCallback(). */
export async function signInWeb(client: StrongroomClient, demo: DemoDocument, app: DemoApp, user: DemoUser) {
  const url = await client.authorizationUrl();
  const redirect = await followAuthorization(createCookieJar(), url, {
    baseUrl: demo.baseUrl,
    redirectUri: new URL(app.redirectUri).origin,
    username: user.username,
    password: user.password,
    totpSecret: user.totpSecret,
  });
  return { redirect, session: await client.handleCallback(redirect) };
}

export interface CliRun {
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout matches. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  done: Promise<number>;
}

/** Run the `strongroom` CLI in this process (as bin/strongroom.js would), with its own environment. */
export function runCli(args: string[], env: Record<string, string>): CliRun {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (chunk) => out.push(String(chunk)));
  stderr.on('data', (chunk) => err.push(String(chunk)));
  const done = main(args, { stdout, stderr, stdin: Readable.from([]), env, cwd: process.cwd() });
  return {
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    done,
    async waitForOutput(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(out.join(''));
        if (match) return match;
        if (Date.now() > deadline)
          throw new Error(`no output matching ${pattern}: ${out.join('')} ${err.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** Run a CLI command to the end. */
export async function cli(args: string[], env: Record<string, string>) {
  const run = runCli(args, env);
  const code = await run.done;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}
