import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DemoDocument, DemoUser } from '../../src/demo/demo-file.ts';
import { systemActor } from '../../src/modules/developers/index.ts';
import { authorizationCodeFlow, authorize, OAuthFlowError } from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer, testDialects } from '../helpers/test-app.ts';

const SANDBOX_REDIRECT = 'http://127.0.0.1:8799/callback';
const SCOPE = 'openid banking/read banking/readBalance';

/** A native sandbox application of the demo's fintech organization, with its API key. */
async function sandboxApp(t: DemoServer, name: string) {
  const { developers } = t.app.services;
  const mobile = await developers.applications.get(t.demo.apps.mobile?.applicationId ?? '', systemActor);
  const created = await developers.applications.create(
    { organizationId: mobile.organizationId, name, kind: 'native', redirectUris: [SANDBOX_REDIRECT] },
    systemActor,
    { initialKey: true },
  );
  assert.equal(created.application.environment, 'sandbox');
  return {
    applicationId: created.application.id,
    clientId: created.application.clientId,
    apiKey: created.apiKey?.key ?? '',
  };
}

const userNamed = (users: DemoUser[] | undefined, username: string) => {
  const user = users?.find((u) => u.username === username);
  if (!user) throw new Error(`no user ${username}`);
  return user;
};

for (const dialect of testDialects()) {
  describe(`${dialect}: the sandbox institution`, () => {
    let t: DemoServer;
    let demo: DemoDocument;
    let app: Awaited<ReturnType<typeof sandboxApp>>;
    let alex: DemoUser;
    let alice: DemoUser;

    const api = (path: string, apiKey: string, token: string) =>
      fetch(`${demo.baseUrl}${path}`, { headers: { 'api-key': apiKey, authorization: `Bearer ${token}` } });

    before(async () => {
      t = await startDemoServer({ dialect });
      demo = t.demo;
      app = await sandboxApp(t, 'sandboxMobile');
      alex = userNamed(demo.sandboxUsers, 'sandbox.alex');
      alice = userNamed(demo.users, 'alice');
    });
    after(() => t.close());

    it('seeds at least two sandbox customers into demo.json `sandboxUsers`, shaped like `users`, with accounts', () => {
      const users = demo.sandboxUsers ?? [];
      assert.ok(users.length >= 2);
      for (const user of users) {
        assert.match(user.id, /^usr_/);
        assert.ok(user.password.length >= 12);
        assert.deepEqual(user.roles, ['customer']);
        assert.ok(user.scopes.includes('banking/read'));
        assert.ok(user.entitlements.length >= 1);
        assert.ok(user.entitlements.every((e) => e.resource === 'account' && e.permissions.includes('view')));
        assert.ok(!demo.users.some((u) => u.username === user.username || u.id === user.id));
      }
    });

    it('signs a sandbox customer in through a sandbox app: code, token, and their sandbox accounts with transactions', async () => {
      const tokens = await authorizationCodeFlow({
        baseUrl: demo.baseUrl,
        clientId: app.clientId,
        redirectUri: SANDBOX_REDIRECT,
        username: alex.username,
        password: alex.password,
        scope: SCOPE,
      });
      const response = await api('/accounts/accounts', app.apiKey, tokens.access_token);
      assert.equal(response.status, 200);
      const body = (await response.json()) as { items: { id: string }[] };
      const ids = body.items.map((a) => a.id).sort();
      assert.deepEqual(ids, alex.entitlements.map((e) => e.id).sort());
      const history = await api(
        `/transactions/transactions?account=${ids[0]}`,
        app.apiKey,
        tokens.access_token,
      );
      assert.equal(history.status, 200);
      const transactions = (await history.json()) as { count: number; items: unknown[] };
      assert.ok(transactions.items.length > 10);
    });

    it('refuses a production customer at a sandbox app: the login page with its error (403), and no code', async () => {
      await assert.rejects(
        authorize({
          baseUrl: demo.baseUrl,
          clientId: app.clientId,
          redirectUri: SANDBOX_REDIRECT,
          username: alice.username,
          password: alice.password,
          scope: SCOPE,
        }),
        (error: unknown) => {
          assert.ok(error instanceof OAuthFlowError);
          assert.equal(error.error, 'login_failed');
          assert.equal(error.status, 403);
          assert.match(String(error.body), /name="password"/);
          assert.match(
            String(error.body),
            /sandbox test customers sign in only through sandbox applications/,
          );
          return true;
        },
      );
    });

    it('refuses a sandbox customer at a production app (mobile): the login page with its error, and no code', async () => {
      const mobile = demo.apps.mobile;
      assert.ok(mobile);
      await assert.rejects(
        authorize({
          baseUrl: demo.baseUrl,
          clientId: mobile.clientId,
          redirectUri: mobile.redirectUri,
          username: alex.username,
          password: alex.password,
          scope: SCOPE,
        }),
        (error: unknown) =>
          error instanceof OAuthFlowError && error.error === 'login_failed' && error.status === 403,
      );
    });
  });
}
