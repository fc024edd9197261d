import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addDays, dateIn } from '../../src/banking/calendar.ts';
import { SAMPLE_PDF } from '../../src/banking/demo-seed.ts';
import type { DemoDocument, DemoUser } from '../../src/demo/demo-file.ts';
import { systemActor } from '../../src/modules/developers/index.ts';
import { createSandboxService } from '../../src/modules/sandbox/sandbox-service.ts';
import { viewFor } from '../banking/banking-fixtures.ts';
import { userActor } from '../developers/helpers.ts';
import {
  authorizationCodeFlow,
  authorize,
  createCookieJar,
  followAuthorization,
  jarFetch,
  OAuthFlowError,
} from '../helpers/oauth-flow.ts';
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

/** A native app of the fintech organization created in `environment` (active, with an active key). */
async function nativeApp(t: DemoServer, name: string, environment: 'production' | 'sandbox') {
  const { developers } = t.app.services;
  const mobile = await developers.applications.get(t.demo.apps.mobile?.applicationId ?? '', systemActor);
  const created = await developers.applications.create(
    {
      organizationId: mobile.organizationId,
      name,
      kind: 'native',
      redirectUris: [SANDBOX_REDIRECT],
      environment,
      state: 'active',
    },
    systemActor,
    { initialKey: true },
  );
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

    it('registers an app of any developer, the IT manager included, in the sandbox by default (key srk_test_)', async () => {
      const ivan = userNamed(demo.users, 'ivan');
      const mobile = await t.app.services.developers.applications.get(
        demo.apps.mobile?.applicationId ?? '',
        systemActor,
      );
      const created = await t.app.services.developers.applications.create(
        {
          organizationId: mobile.organizationId,
          name: 'ivansApp',
          kind: 'native',
          redirectUris: [SANDBOX_REDIRECT],
        },
        userActor(ivan.id),
        { initialKey: true },
      );
      assert.equal(created.application.environment, 'sandbox');
      assert.equal(created.application.state, 'active');
      assert.match(created.apiKey?.key ?? '', /^srk_test_/);
      assert.equal(
        await t.app.services.developers.clientEnvironment(created.application.clientId),
        'sandbox',
      );
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
    it('refuses a sandbox app a code for a production session opened through a production app (no login prompt)', async () => {
      const mobile = demo.apps.mobile;
      assert.ok(mobile);
      const first = await authorize({
        baseUrl: demo.baseUrl,
        clientId: mobile.clientId,
        redirectUri: mobile.redirectUri,
        username: alice.username,
        password: alice.password,
        scope: SCOPE,
      });
      assert.ok(first.code);
      await assert.rejects(
        authorize({
          baseUrl: demo.baseUrl,
          clientId: app.clientId,
          redirectUri: SANDBOX_REDIRECT,
          username: alice.username,
          password: alice.password,
          scope: SCOPE,
          jar: first.jar,
        }),
        (error: unknown) => {
          assert.ok(error instanceof OAuthFlowError);
          assert.equal(error.error, 'page_error');
          assert.equal(error.status, 403);
          assert.match(
            String(error.body),
            /sandbox test customers sign in only through sandbox applications/,
          );
          return true;
        },
      );
    });

    describe('a sandbox key never reads production data', () => {
      let aliceAccount: string;
      let alexToken: string;
      before(async () => {
        aliceAccount = alice.entitlements.find((e) => e.resource === 'account' && e.id !== '*')?.id ?? '';
        alexToken = (
          await authorizationCodeFlow({
            baseUrl: demo.baseUrl,
            clientId: app.clientId,
            redirectUri: SANDBOX_REDIRECT,
            username: alex.username,
            password: alex.password,
            scope: SCOPE,
          })
        ).access_token;
      });

      it('a production account is not found through a sandbox key even when the sandbox customer is entitled to it', async () => {
        // An operator's mistake: a sandbox customer entitled to a production account.
        await t.app.services.entitlements.grant({
          subject: alex.id,
          resource: 'account',
          resourceId: aliceAccount,
          permissions: ['view', 'viewBalance'],
          relationship: 'owner',
        });
        // alice's own transfer from that account (through the production mobile app).
        const today = dateIn(t.config.timeZone, t.app.context.clock.now());
        const savings = alice.entitlements.find((e) => e.id !== aliceAccount && e.id !== '*')?.id ?? '';
        const transfer = await t.app.services.banking.services.transfersService.create(
          {
            userId: alice.id,
            clientId: demo.apps.mobile?.clientId ?? '',
            entitlements: viewFor(t, alice.id),
            now: t.app.context.clock.now(),
          },
          'sandbox-test-1',
          {
            sourceAccount: { id: aliceAccount },
            targetAccount: { id: savings },
            amount: { value: '1.00', currency: 'USD' },
            schedule: { start: addDays(today, 30) },
          },
        );
        try {
          const scheduled = await api(
            `/transfers/scheduledTransfers/${transfer.body.id}`,
            app.apiKey,
            alexToken,
          );
          assert.equal(scheduled.status, 404);
          const transfers = (await (
            await api('/transfers/scheduledTransfers', app.apiKey, alexToken)
          ).json()) as {
            items: { id: string }[];
          };
          assert.ok(!transfers.items.some((x) => x.id === transfer.body.id));
          const account = await api(`/accounts/accounts/${aliceAccount}`, app.apiKey, alexToken);
          assert.equal(account.status, 404);
          assert.equal(account.headers.get('content-type'), 'application/problem+json; charset=utf-8');
          const balance = await api(`/accounts/accounts/${aliceAccount}/balance`, app.apiKey, alexToken);
          assert.equal(balance.status, 404);
          const history = await api(
            `/transactions/transactions?account=${aliceAccount}`,
            app.apiKey,
            alexToken,
          );
          assert.equal(history.status, 404);
          const list = (await (await api('/accounts/accounts', app.apiKey, alexToken)).json()) as {
            items: { id: string }[];
          };
          assert.ok(!list.items.some((a) => a.id === aliceAccount));
        } finally {
          await t.app.services.entitlements.revoke({
            subject: alex.id,
            resource: 'account',
            resourceId: aliceAccount,
          });
        }
      });

      it("a sandbox customer's account application is the sandbox's: uploadable through the sandbox key, unseen in production", async () => {
        const today = dateIn(t.config.timeZone, t.app.context.clock.now());
        const tokens = await authorizationCodeFlow({
          baseUrl: demo.baseUrl,
          clientId: app.clientId,
          redirectUri: SANDBOX_REDIRECT,
          username: alex.username,
          password: alex.password,
          scope: 'openid profile/read profile/write',
        });
        const created = await fetch(`${demo.baseUrl}/accountApplications/accountApplications`, {
          method: 'POST',
          headers: {
            'api-key': app.apiKey,
            authorization: `Bearer ${tokens.access_token}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            productId: 'prd_highYieldSavings',
            applicant: {
              firstName: 'Alex',
              lastName: 'Sandbox',
              email: 'alex@example.com',
              phone: '+15555550199',
              dateOfBirth: '1990-01-01',
              address: {
                line1: '1 Test Road',
                city: 'Springfield',
                region: 'IL',
                postalCode: '62704',
                country: 'US',
              },
            },
            identityDocument: {
              type: 'driversLicense',
              number: 'S1234567',
              issuingCountry: 'US',
              expiresOn: addDays(today, 365),
            },
            initialDeposit: { value: '100.00', currency: 'USD' },
          }),
        });
        assert.equal(created.status, 201);
        const application = (await created.json()) as { id: string };
        const upload = await fetch(
          `${demo.baseUrl}/accountApplications/accountApplications/${application.id}/documents`,
          {
            method: 'POST',
            headers: {
              'api-key': app.apiKey,
              authorization: `Bearer ${tokens.access_token}`,
              'content-type': 'application/pdf',
            },
            body: SAMPLE_PDF,
          },
        );
        assert.equal(upload.status, 201);
        const stored = await t.app.services.banking.services.applications.get(application.id, {
          userId: alex.id,
          reviewer: false,
          environment: 'sandbox',
        });
        assert.equal(stored.body.state, 'pending');
        await assert.rejects(
          t.app.services.banking.services.applications.get(application.id, {
            userId: alex.id,
            reviewer: true,
          }),
          /does not exist/,
        );
      });

      it("a production customer's token through an app that became sandbox reads nothing (accounts, transactions, transfers, applications)", async () => {
        const switched = await nativeApp(t, 'wasProduction', 'production');
        const tokens = await authorizationCodeFlow({
          baseUrl: demo.baseUrl,
          clientId: switched.clientId,
          redirectUri: SANDBOX_REDIRECT,
          username: alice.username,
          password: alice.password,
          scope: `${SCOPE} profile/read`,
        });
        const before = await api(`/accounts/accounts/${aliceAccount}`, switched.apiKey, tokens.access_token);
        assert.equal(before.status, 200);
        const applications = await api(
          '/accountApplications/accountApplications',
          switched.apiKey,
          tokens.access_token,
        );
        assert.equal(((await applications.json()) as { items: unknown[] }).items.length, 1);
        await t.app.services.developers.applications.update(
          switched.applicationId,
          { environment: 'sandbox' },
          systemActor,
        );
        const account = await api(`/accounts/accounts/${aliceAccount}`, switched.apiKey, tokens.access_token);
        assert.equal(account.status, 404);
        const history = await api(
          `/transactions/transactions?account=${aliceAccount}`,
          switched.apiKey,
          tokens.access_token,
        );
        assert.equal(history.status, 404);
        for (const path of [
          '/accounts/accounts',
          '/transfers/scheduledTransfers',
          '/accountApplications/accountApplications',
        ]) {
          const response = await api(path, switched.apiKey, tokens.access_token);
          assert.equal(response.status, 200, path);
          const body = (await response.json()) as { items: unknown[] };
          assert.deepEqual(body.items, [], path);
        }
      });

      it("a sandbox customer's token through an app that became production reads nothing of the sandbox either", async () => {
        const switched = await nativeApp(t, 'wasSandbox', 'sandbox');
        const tokens = await authorizationCodeFlow({
          baseUrl: demo.baseUrl,
          clientId: switched.clientId,
          redirectUri: SANDBOX_REDIRECT,
          username: alex.username,
          password: alex.password,
          scope: SCOPE,
        });
        const alexAccount = alex.entitlements[0]?.id ?? '';
        assert.equal(
          (await api(`/accounts/accounts/${alexAccount}`, switched.apiKey, tokens.access_token)).status,
          200,
        );
        await t.app.services.developers.applications.update(
          switched.applicationId,
          { environment: 'production' },
          systemActor,
        );
        assert.equal(
          (await api(`/accounts/accounts/${alexAccount}`, switched.apiKey, tokens.access_token)).status,
          404,
        );
      });
    });

    describe('/portal/sandbox and its reset', () => {
      const jar = createCookieJar();
      let organizationId: string;
      before(async () => {
        const ivan = userNamed(demo.users, 'ivan');
        const callback = await followAuthorization(jar, `${demo.baseUrl}/portal/login`, {
          baseUrl: demo.baseUrl,
          redirectUri: `${demo.baseUrl}/portal/callback`,
          username: ivan.username,
          password: ivan.password,
          totpSecret: ivan.totpSecret,
        });
        assert.equal((await jarFetch(jar, callback.toString())).status, 303);
        const mobile = await t.app.services.developers.applications.get(
          demo.apps.mobile?.applicationId ?? '',
          systemActor,
        );
        organizationId = mobile.organizationId;
      });
      const page = async () => {
        const response = await jarFetch(jar, `${demo.baseUrl}/portal/sandbox`);
        return { response, text: await response.text() };
      };
      const balanceOf = async (accountId: string) => {
        const row = await t.app.services.banking.services.accounts.find(t.app.context.db, accountId);
        return Number(row?.current_minor);
      };

      it('lists every sandbox customer with their password to a signed-in developer', async () => {
        const { response, text } = await page();
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('cache-control'), 'no-store');
        for (const user of demo.sandboxUsers ?? []) {
          assert.ok(text.includes(`<code>${user.username}</code>`), user.username);
          assert.ok(text.includes(`<code>${user.password}</code>`), `password of ${user.username}`);
        }
        assert.match(text, new RegExp(`action="/portal/sandbox/organizations/${organizationId}/reset"`));
      });

      it('sends a signed-out browser to sign in', async () => {
        const response = await fetch(`${demo.baseUrl}/portal/sandbox`, { redirect: 'manual' });
        assert.equal(response.status, 303);
        assert.equal(response.headers.get('location'), '/portal/login?returnTo=%2Fportal%2Fsandbox');
      });

      it('resets the sandbox data to its seed: same account ids and balances, changes gone, passwords kept', async () => {
        const accountId = alex.entitlements[0]?.id ?? '';
        const seeded = await balanceOf(accountId);
        const { accounts } = t.app.services.banking.services;
        await t.app.context.db.transaction().execute((trx) =>
          accounts.post(trx, {
            accountId,
            type: 'debit',
            amountMinor: 1234,
            postedOn: '2026-01-01',
            occurredAt: '2026-01-01T00:00:00.000Z',
            description: 'test purchase',
            category: 'shopping',
          }),
        );
        assert.equal(await balanceOf(accountId), seeded - 1234);
        // Anyone may lock a sandbox customer out (the password is shared): the reset unlocks them.
        for (let i = 0; i < 10; i++)
          await t.app.services.identity.authenticate({
            username: alex.username,
            password: 'wrong',
            address: `10.0.0.${i}`,
          });
        assert.equal((await t.app.services.identity.getUser(alex.id))?.status, 'locked');
        const { text } = await page();
        const csrf = /name="csrf" value="([^"]+)"/.exec(text)?.[1] ?? '';
        const reset = await jarFetch(
          jar,
          `${demo.baseUrl}/portal/sandbox/organizations/${organizationId}/reset`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', origin: demo.baseUrl },
            body: new URLSearchParams({ csrf }).toString(),
          },
        );
        assert.equal(reset.status, 303);
        assert.equal(reset.headers.get('location'), '/portal/sandbox');
        assert.equal(await balanceOf(accountId), seeded);
        assert.equal((await t.app.services.identity.getUser(alex.id))?.status, 'active');
        const after = await page();
        assert.match(after.text, /The sandbox data was reset/);
        assert.ok(after.text.includes(`<code>${alex.password}</code>`));
        const tokens = await authorizationCodeFlow({
          baseUrl: demo.baseUrl,
          clientId: app.clientId,
          redirectUri: SANDBOX_REDIRECT,
          username: alex.username,
          password: alex.password,
          scope: SCOPE,
        });
        const list = (await (await api('/accounts/accounts', app.apiKey, tokens.access_token)).json()) as {
          items: { id: string }[];
        };
        assert.deepEqual(list.items.map((a) => a.id).sort(), alex.entitlements.map((e) => e.id).sort());
        const history = (await (
          await api(
            `/transactions/transactions?account=${accountId}&limit=1000`,
            app.apiKey,
            tokens.access_token,
          )
        ).json()) as { items: { description: string }[] };
        assert.ok(!history.items.some((i) => i.description === 'test purchase'));
      });

      it('refuses a reset on behalf of an organization the developer is not a member of (404), changing nothing', async () => {
        const other = await t.app.services.developers.organizations.create(
          { name: 'Other Org' },
          systemActor,
        );
        const { text } = await page();
        const csrf = /name="csrf" value="([^"]+)"/.exec(text)?.[1] ?? '';
        const reset = await jarFetch(jar, `${demo.baseUrl}/portal/sandbox/organizations/${other.id}/reset`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: demo.baseUrl },
          body: new URLSearchParams({ csrf }).toString(),
        });
        assert.equal(reset.status, 404);
      });

      it('is all or nothing: a reset that fails half-way leaves the sandbox as it was', async () => {
        const accountId = alex.entitlements[0]?.id ?? '';
        const { accounts } = t.app.services.banking.services;
        await t.app.context.db.transaction().execute((trx) =>
          accounts.post(trx, {
            accountId,
            type: 'debit',
            amountMinor: 500,
            postedOn: '2026-01-01',
            occurredAt: '2026-01-01T00:00:00.000Z',
            description: 'kept purchase',
            category: 'shopping',
          }),
        );
        const balance = await balanceOf(accountId);
        const real = t.app.services.banking.sandboxData;
        const failing = createSandboxService(t.app.context, {
          identity: t.app.services.identity,
          data: {
            clear: real.clear,
            holdings: real.holdings,
            async seed(trx, holders, now) {
              await real.seed(trx, holders, now);
              throw new Error('seed failed half-way');
            },
          },
        });
        await assert.rejects(failing.reset({ userId: 'usr_test', organizationId }), /seed failed half-way/);
        assert.equal(await balanceOf(accountId), balance);
        const grants = await t.app.services.entitlements.list({ subject: alex.id });
        assert.deepEqual(grants.map((g) => g.resourceId).sort(), alex.entitlements.map((e) => e.id).sort());
      });
    });
  });
}
