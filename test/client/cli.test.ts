import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Profile } from '@strongroom/client/node';
import type { DemoApp, DemoDocument, DemoUser } from '../../src/demo/demo-file.ts';
import { createCookieJar, followAuthorization, OAuthFlowError, refresh } from '../helpers/oauth-flow.ts';
import { startDemoServer, TEST_KEK, type TestApp, testDialects } from '../helpers/test-app.ts';
import { cli, demoApp, demoUser, runCli, viewableAccounts } from './helpers.ts';

/**
 * The shortest access-token lifetime the institution may set, for the demo's native app: the SDK's rule
 * (refresh when less than min(60 s, 20%) remains) then refreshes 6 s before expiry, 24 s after sign-in.
 */
const ACCESS_TOKEN_SECONDS = 30;

// The dialects run side by side: each waits ~25 s of real time for its token to near expiry.
describe("API consumers' CLI", { concurrency: true }, () => {
  for (const dialect of testDialects()) {
    describe(`${dialect}: strongroom login, call and logout`, { concurrency: 1 }, () => {
      let t: TestApp;
      let demo: DemoDocument;
      let mobile: DemoApp;
      let alice: DemoUser;
      let configDir: string;
      let env: Record<string, string>;
      const profileFile = () => path.join(configDir, 'profiles.json');
      const profile = () =>
        (JSON.parse(readFileSync(profileFile(), 'utf8')) as { profiles: Record<string, Profile> }).profiles
          .default as Profile;
      const serverFlags = () => [
        '--data-dir',
        t.dataDir,
        ...(t.config.databaseUrl ? ['--database-url', t.config.databaseUrl] : []),
      ];
      /** The server's request log lines since `mark` (one per request: method, path, status). */
      const requestsSince = (mark: number) => {
        t.app.context.logger.flush();
        return t.logs
          .entries()
          .slice(mark)
          .filter((e) => e.msg === 'request')
          .map((e) => ({ method: String(e.method), path: String(e.path), status: Number(e.status) }));
      };

      before(async () => {
        // This process drives the sign-in pages (the CLI itself trusts the CA through --ca).
        const server = await startDemoServer({ dialect, redis: true });
        t = server;
        demo = server.demo;
        mobile = demoApp(demo, 'mobile');
        alice = demoUser(demo, 'alice');
        configDir = mkdtempSync(path.join(tmpdir(), 'strongroom-cli-config-'));
        env = { STRONGROOM_CONFIG_DIR: configDir };
        const set = await cli(
          [
            'lifetimes',
            'set',
            '--client',
            mobile.clientId,
            '--access-token',
            String(ACCESS_TOKEN_SECONDS),
            ...serverFlags(),
          ],
          // On PostgreSQL the key-encryption key must come from the environment.
          t.config.databaseUrl ? { STRONGROOM_KEK: TEST_KEK } : {},
        );
        assert.equal(set.code, 0, set.stderr);
        // A client's own lifetimes are part of its metadata, which the authorization server reads from the
        // store for every token: the next token follows them (the test below checks its lifetime).
      });
      after(async () => {
        await t.close();
        rmSync(configDir, { recursive: true, force: true });
      });

      it('login --no-browser prints the URL, refuses a wrong state, takes the redirect and stores the tokens (0600)', async () => {
        const run = runCli(
          [
            'login',
            '--no-browser',
            '--base-url',
            demo.baseUrl,
            '--client-id',
            mobile.clientId,
            '--redirect-uri',
            'http://127.0.0.1/callback',
            '--ca',
            demo.caCertFile ?? '',
          ],
          { ...env, STRONGROOM_API_KEY: mobile.apiKey },
        );
        const [, printed] = await run.waitForOutput(/(https:\/\/\S+\/auth\/oauth2\/authorize\?\S+)/);
        const authorizationUrl = new URL(printed as string);
        assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
        assert.match(authorizationUrl.searchParams.get('scope') ?? '', /\bbanking\/read\b/);
        const redirectUri = authorizationUrl.searchParams.get('redirect_uri') ?? '';
        assert.match(redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);

        const forged = await fetch(`${redirectUri}?code=stolen&state=not-the-state`);
        assert.equal(forged.status, 400);
        assert.match(await forged.text(), /does not belong to the sign-in in progress/);

        const location = await followAuthorization(createCookieJar(), authorizationUrl.toString(), {
          baseUrl: demo.baseUrl,
          redirectUri,
          username: alice.username,
          password: alice.password,
        });
        const landed = await fetch(location);
        assert.equal(landed.status, 200);
        assert.match(await landed.text(), /Signed in/);
        assert.equal(await run.done, 0, run.stderr());
        assert.match(run.stdout(), /Signed in \(profile "default"\)\. Scopes: .*banking\/read/);

        assert.equal(statSync(profileFile()).mode & 0o777, 0o600);
        assert.equal(statSync(configDir).mode & 0o077, 0);
        const saved = profile();
        assert.equal(saved.baseUrl, demo.baseUrl);
        assert.equal(saved.clientId, mobile.clientId);
        assert.ok(saved.session?.tokens?.accessToken && saved.session.tokens.refreshToken);
        assert.equal(saved.session.pending, undefined);
        await assert.rejects(fetch(location), 'the loopback listener closed after the one redirect');
      });

      it("login exits 1 with the server's reason when the user refuses consent, and keeps no sign-in state", async () => {
        const run = runCli(
          [
            'login',
            '--profile',
            'refused',
            '--no-browser',
            '--base-url',
            demo.baseUrl,
            '--api-key',
            mobile.apiKey,
            '--client-id',
            mobile.clientId,
            '--ca',
            demo.caCertFile ?? '',
          ],
          env,
        );
        const [, printed] = await run.waitForOutput(/(https:\/\/\S+\/auth\/oauth2\/authorize\?\S+)/);
        const authorizationUrl = new URL(printed as string);
        const location = await followAuthorization(createCookieJar(), authorizationUrl.toString(), {
          baseUrl: demo.baseUrl,
          redirectUri: authorizationUrl.searchParams.get('redirect_uri') ?? '',
          username: alice.username,
          password: alice.password,
          consent: 'deny',
        });
        assert.equal((await fetch(location)).status, 200);
        assert.equal(await run.done, 1);
        assert.match(run.stderr(), /sign-in refused \(access_denied/);
        const saved = JSON.parse(readFileSync(profileFile(), 'utf8')) as {
          profiles: Record<string, Profile>;
        };
        assert.deepEqual(saved.profiles.refused?.session ?? {}, {});
      });

      it("call GET /accounts/accounts prints the signed-in user's accounts", async () => {
        const result = await cli(['call', 'GET', '/accounts/accounts'], env);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        const body = JSON.parse(result.stdout) as { items: { id: string }[] };
        assert.deepEqual(body.items.map((a) => a.id).sort(), viewableAccounts(alice));
      });

      it('call prints the problem+json body and exits 1 on an error answer', async () => {
        const result = await cli(['call', 'GET', '/accounts/accounts/acc_doesNotExist'], env);
        assert.equal(result.code, 1);
        const problem = JSON.parse(result.stdout) as Record<string, unknown>;
        assert.equal(problem.status, 404);
        assert.equal(problem.type, `${demo.baseUrl}/errors/notFound`);
        assert.match(String(problem.id), /^req_/);
      });

      it('call refreshes the access token before it expires, and sees no 401', async () => {
        const before = profile().session?.tokens;
        const expiresAt = before?.expiresAt;
        assert.ok(before && expiresAt);
        assert.equal(expiresAt - before.receivedAt, ACCESS_TOKEN_SECONDS * 1000);
        // Inside the refresh window (less than min(60 s, 20% of 30 s) = 6 s left), well before expiry.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - 5000 - Date.now())));
        const mark = t.logs.lines.length;
        const startedAt = Date.now();
        const result = await cli(['call', 'GET', '/accounts/accounts'], env);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.ok(startedAt < expiresAt, 'the call started before the token expired');

        const after = profile().session?.tokens;
        assert.ok(after);
        assert.notEqual(after.accessToken, before.accessToken);
        assert.notEqual(
          after.refreshToken,
          before.refreshToken,
          'a public client gets a rotated refresh token',
        );
        const requests = requestsSince(mark);
        assert.deepEqual(
          requests.filter((r) => /\/oauth2\/token$/.test(r.path)).map((r) => r.status),
          [200],
          'one token request (the refresh)',
        );
        assert.deepEqual(
          requests.filter((r) => r.path === '/accounts/accounts').map((r) => r.status),
          [200],
          'one API request, answered 200 (no 401 and no retry)',
        );
      });

      it('logout revokes the session (the refresh token no longer works) and forgets the tokens', async () => {
        const tokens = profile().session?.tokens;
        assert.ok(tokens?.refreshToken);
        const result = await cli(['logout'], env);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /Signed out/);
        assert.equal(profile().session, undefined);
        assert.equal(profile().clientId, mobile.clientId, 'the connection settings stay');

        await assert.rejects(
          refresh({ baseUrl: demo.baseUrl, clientId: mobile.clientId, refreshToken: tokens.refreshToken }),
          (error: unknown) => error instanceof OAuthFlowError && error.error === 'invalid_grant',
        );
        const call = await cli(['call', 'GET', '/accounts/accounts'], env);
        assert.equal(call.code, 1);
        assert.equal((JSON.parse(call.stdout) as { status: number }).status, 401);
      });
    });
  }
});
