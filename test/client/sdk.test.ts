import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type ClientOptions,
  createClient,
  memoryTokenStore,
  type StrongroomClient,
  StrongroomProblem,
} from '@strongroom/client';
import { fileTokenStore } from '@strongroom/client/node';
import type { DemoApp, DemoDocument, DemoUser } from '../../src/demo/demo-file.ts';
import { createManualClock, type ManualClock } from '../../src/lib/clock.ts';
import { cliActor } from '../../src/modules/developers/index.ts';
import { OAuthFlowError, refresh } from '../helpers/oauth-flow.ts';
import { startDemoServer, type TestApp, testDialects } from '../helpers/test-app.ts';
import { demoApp, demoUser, recordingFetch, signInWeb, viewableAccounts } from './helpers.ts';

const SECOND = 1000;

for (const dialect of testDialects()) {
  describe(`${dialect}: @strongroom/client against a real server`, () => {
    let t: TestApp;
    let demo: DemoDocument;
    let mobile: DemoApp;
    let alice: DemoUser;
    /** The server's domain clock: kept at real time plus `serverAhead` before every request. */
    let serverClock: ManualClock;
    let serverAhead = 0;

    before(async () => {
      serverClock = createManualClock(Date.now());
      const server = await startDemoServer({ dialect, redis: true, clock: serverClock });
      t = server;
      demo = server.demo;
      mobile = demoApp(demo, 'mobile');
      alice = demoUser(demo, 'alice');
    });
    after(() => t.close());

    /** A client of the demo's native app with a manual clock (`skew` ms ahead of real time), signed in as alice. */
    async function signedIn(options: Partial<ClientOptions> = {}) {
      const recorder = recordingFetch((url) => {
        if (url.pathname.endsWith('/oauth2/token')) serverAhead = 0;
        serverClock.set(Date.now() + serverAhead);
      });
      const clock = { skew: 0, now: () => Date.now() + clock.skew };
      const client = createClient({
        baseUrl: demo.baseUrl,
        apiKey: mobile.apiKey,
        clientId: mobile.clientId,
        redirectUri: mobile.redirectUri,
        fetch: recorder.fetch,
        clock,
        ...options,
      });
      const { session } = await signInWeb(client, demo, mobile, alice);
      return { client, recorder, clock, session };
    }

    const accountIds = async (client: StrongroomClient) => {
      const { data, response } = await client.GET('/accounts/accounts');
      assert.equal(response.status, 200);
      return (data?.items ?? []).map((a) => a.id).sort();
    };

    it('signs in through the web flow (authorizationUrl + handleCallback) and makes a typed call', async () => {
      const { client, session } = await signedIn();
      assert.ok(session.scopes.includes('banking/read'));
      assert.ok(session.canRefresh);
      assert.deepEqual(await accountIds(client), viewableAccounts(alice));
    });

    it('handleCallback refuses a redirect whose state is not the one it sent, and exchanges nothing', async () => {
      const recorder = recordingFetch();
      const client = createClient({
        baseUrl: demo.baseUrl,
        apiKey: mobile.apiKey,
        clientId: mobile.clientId,
        redirectUri: mobile.redirectUri,
        fetch: recorder.fetch,
      });
      await client.authorizationUrl();
      const forged = new URL(mobile.redirectUri);
      forged.searchParams.set('code', 'attacker-code');
      forged.searchParams.set('state', 'attacker-state');
      forged.searchParams.set('iss', demo.issuer);
      await assert.rejects(client.handleCallback(forged), /state/);
      assert.equal(recorder.calls.filter((c) => c.path.endsWith('/oauth2/token')).length, 0);
      assert.equal(await client.session(), undefined);
    });

    it('does not refresh while more than min(60 s, 20%) of the lifetime remains', async () => {
      const { client, recorder, clock } = await signedIn();
      clock.skew = 239 * SECOND; // 300 s token: 61 s left
      await accountIds(client);
      assert.equal(recorder.refreshes(), 0);
    });

    it('refreshes before expiry once less than min(60 s, 20%) remains, then calls with the new token', async () => {
      const { client, recorder, clock } = await signedIn();
      const first = await client.accessToken();
      clock.skew = 241 * SECOND; // 59 s left
      const mark = recorder.calls.length;
      assert.deepEqual(await accountIds(client), viewableAccounts(alice));
      assert.deepEqual(
        recorder.since(mark).map((c) => `${c.method} ${c.path} ${c.status}`),
        ['POST /auth/oauth2/token 200', 'GET /accounts/accounts 200'],
      );
      assert.notEqual(await client.accessToken(), first);
    });

    it('refreshes once for many concurrent calls near expiry (single flight)', async () => {
      const { client, recorder, clock } = await signedIn();
      clock.skew = 250 * SECOND;
      const mark = recorder.calls.length;
      const results = await Promise.all(Array.from({ length: 6 }, () => accountIds(client)));
      for (const ids of results) assert.deepEqual(ids, viewableAccounts(alice));
      assert.equal(recorder.since(mark).filter((c) => c.grantType === 'refresh_token').length, 1);
      assert.ok(recorder.since(mark).every((c) => c.status === 200));
    });

    it('two clients sharing a file token store (two processes) spend the refresh token once', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'strongroom-shared-store-'));
      try {
        const file = path.join(dir, 'session.json');
        const first = await signedIn({ tokenStore: fileTokenStore(file) });
        const second = createClient({
          baseUrl: demo.baseUrl,
          apiKey: mobile.apiKey,
          clientId: mobile.clientId,
          redirectUri: mobile.redirectUri,
          tokenStore: fileTokenStore(file),
          fetch: first.recorder.fetch,
          clock: first.clock,
        });
        first.clock.skew = 250 * SECOND;
        const mark = first.recorder.calls.length;
        const [a, b] = await Promise.all([accountIds(first.client), accountIds(second)]);
        assert.deepEqual(a, viewableAccounts(alice));
        assert.deepEqual(b, viewableAccounts(alice));
        // Public clients' refresh tokens rotate: a second refresh with the same token would end the grant.
        assert.equal(first.recorder.since(mark).filter((c) => c.grantType === 'refresh_token').length, 1);
        assert.equal(await first.client.accessToken(), await second.accessToken());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('after a 401 sessionExpired it refreshes once and retries the same request', async () => {
      const { client, recorder } = await signedIn();
      const mark = recorder.calls.length;
      // The gateway's clock jumps past the token's expiry (a suspended machine, a clock step) while the
      // client's does not; once the client refreshes, both clocks agree again (see signedIn()).
      serverAhead = 320 * SECOND;
      try {
        assert.deepEqual(await accountIds(client), viewableAccounts(alice));
      } finally {
        serverAhead = 0;
      }
      assert.deepEqual(
        recorder.since(mark).map((c) => `${c.method} ${c.path} ${c.status}`),
        ['GET /accounts/accounts 401', 'POST /auth/oauth2/token 200', 'GET /accounts/accounts 200'],
      );
    });

    it('does not retry a 401 that is not sessionExpired (a revoked session): it throws it', async () => {
      const { client, recorder } = await signedIn();
      await client.logout();
      const mark = recorder.calls.length;
      await assert.rejects(client.GET('/accounts/accounts'), (error: unknown) => {
        assert.ok(error instanceof StrongroomProblem);
        assert.equal(error.status, 401);
        assert.equal(error.typeName, 'unauthorized');
        return true;
      });
      assert.deepEqual(
        recorder.since(mark).map((c) => c.path),
        ['/accounts/accounts'],
      );
    });

    it('throws error answers as StrongroomProblem with the RFC 9457 fields and the correlation id', async () => {
      const { client } = await signedIn();
      const error = await client
        .GET('/accounts/accounts/{accountId}', { params: { path: { accountId: 'acc_notMine000' } } })
        .then(
          () => assert.fail('expected a problem'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof StrongroomProblem);
      assert.equal(error.status, 404);
      assert.equal(error.type, `${demo.baseUrl}/errors/notFound`);
      assert.equal(error.typeName, 'notFound');
      assert.equal(error.title, 'Not found');
      assert.equal(typeof error.detail, 'string');
      assert.match(error.correlationId ?? '', /^req_/);
      assert.equal(error.correlationId, error.headers.get('x-request-id'));
      assert.equal(error.instance, `urn:strongroom:request:${error.correlationId}`);
      assert.ok(!Number.isNaN(Date.parse(error.occurredAt ?? '')));

      const invalid = await client
        .call('GET', `/transactions/transactions?account=${viewableAccounts(alice)[0]}&limit=5000`)
        .then(
          () => assert.fail('expected a problem'),
          (e: unknown) => e,
        );
      assert.ok(invalid instanceof StrongroomProblem);
      assert.equal(invalid.status, 400);
      assert.ok(invalid.errors.some((e) => e.in === 'query' && e.name === 'limit'));
    });

    it('logout revokes the refresh token at the authorization server and forgets the session', async () => {
      const store = memoryTokenStore();
      const { client } = await signedIn({ tokenStore: store });
      const refreshToken = (await store.load())?.tokens?.refreshToken;
      assert.ok(refreshToken);
      await client.logout();
      assert.equal(await client.session(), undefined);
      assert.equal(await store.load(), undefined);
      await assert.rejects(
        refresh({ baseUrl: demo.baseUrl, clientId: mobile.clientId, refreshToken }),
        (error: unknown) => error instanceof OAuthFlowError && error.error === 'invalid_grant',
      );
    });

    describe('429 with Retry-After', () => {
      let loadTest: DemoApp;
      before(async () => {
        loadTest = demoApp(demo, 'loadTest');
        const dev = t.app.services.developers;
        await dev.plans.set({ name: 'tiny', perSecond: 1, burst: 1, perDay: 1_000_000, abuseExempt: false });
        await dev.applications.update(loadTest.applicationId, { ratePlan: 'tiny' }, cliActor);
        // The plan reaches the gateway through the change log: wait until the key is limited.
        const deadline = Date.now() + 3 * SECOND;
        for (;;) {
          const response = await fetch(`${demo.baseUrl}/products/products`, {
            headers: { 'API-Key': loadTest.apiKey },
          });
          await response.body?.cancel();
          if (response.status === 429) break;
          assert.ok(Date.now() < deadline, 'the tiny plan took effect');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      });
      after(async () => {
        await t.app.services.developers.applications.update(
          loadTest.applicationId,
          { ratePlan: 'loadTest' },
          cliActor,
        );
      });

      const keyOnlyClient = (options: Partial<ClientOptions> = {}) => {
        const recorder = recordingFetch();
        const client = createClient({
          baseUrl: demo.baseUrl,
          apiKey: loadTest.apiKey,
          clientId: loadTest.clientId,
          redirectUri: loadTest.redirectUri,
          fetch: recorder.fetch,
          ...options,
        });
        return { client, recorder };
      };

      it('waits for Retry-After and retries (an API-key-only call, no sign-in)', async () => {
        const { client, recorder } = keyOnlyClient();
        const first = await fetch(`${demo.baseUrl}/products/products`, {
          headers: { 'API-Key': loadTest.apiKey },
        });
        await first.body?.cancel();
        const started = performance.now();
        const { response } = await client.GET('/products/products');
        assert.equal(response.status, 200);
        const statuses = recorder.calls.map((c) => c.status);
        assert.equal(statuses.at(-1), 200);
        assert.ok(statuses.includes(429), `saw a 429 first: ${statuses}`);
        assert.ok(performance.now() - started >= 900, 'waited about Retry-After (1 s)');
      });

      it('throws the 429 at once when Retry-After is beyond the bound', async () => {
        const { client, recorder } = keyOnlyClient({ retry: { maxRetryAfterSeconds: 0 } });
        const first = await fetch(`${demo.baseUrl}/products/products`, {
          headers: { 'API-Key': loadTest.apiKey },
        });
        await first.body?.cancel();
        const started = performance.now();
        const error = await client.GET('/products/products').then(
          () => assert.fail('expected 429'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof StrongroomProblem);
        assert.equal(error.status, 429);
        assert.equal(error.typeName, 'tooManyRequests');
        assert.match(error.headers.get('retry-after') ?? '', /^\d+$/);
        assert.equal(recorder.calls.length, 1);
        assert.ok(performance.now() - started < 900, 'did not wait');
      });
    });
  });
}
