/**
 * The generated security suite (issue 5): every operation of every registered OpenAPI document — banking,
 * platform, and any added later — is driven through DESIGN.md §1 with real demo keys and real tokens from
 * the authorization server. A new operation cannot escape it: the list comes from the gateway itself.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import type { DemoDocument } from '../../src/demo/demo-file.ts';
import type { RegisteredApi } from '../../src/modules/gateway/index.ts';
import { normalized } from '../helpers/assertions.ts';
import { type Conformance, createConformance, type InjectedAnswer } from '../helpers/conformance.ts';
import { authorizationCodeFlow } from '../helpers/oauth-flow.ts';
import { startDemoServer, type TestApp, testDialects } from '../helpers/test-app.ts';

type Operation = RegisteredApi['operations'][number] & { api: string };
type Credentials = { key: string; token: string | undefined };

const LOADTEST_SCOPES =
  'openid banking/read banking/readBalance banking/write banking/delete profile/read profile/write';
const RANDOM_ID = 'zzNoSuchResource0000000001';

const fill = (op: Operation, id = RANDOM_ID) => op.url.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, id);

for (const dialect of testDialects()) {
  describe(`generated security suite: every operation of every document (${dialect})`, () => {
    let t: TestApp;
    let demo: DemoDocument;
    let operations: Operation[];
    let offsetMs = 0;
    const tokens: Record<string, string> = {};
    let idToken: string | undefined;
    let revokedKey: string;
    let carolAccount: string;

    before(async () => {
      const server = await startDemoServer({
        dialect,
        clock: { now: () => Date.now() + offsetMs, monotonic: () => performance.now() },
      });
      t = server;
      demo = server.demo;
      const user = (name: string) => {
        const found = demo.users.find((u) => u.username === name);
        assert.ok(found, `demo user ${name}`);
        return found;
      };
      const flow = async (appName: 'loadTest' | 'backOffice' | 'mobile', username: string, scope: string) => {
        const app = demo.apps[appName];
        assert.ok(app, `demo app ${appName}`);
        const u = user(username);
        return authorizationCodeFlow({
          baseUrl: demo.baseUrl,
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          redirectUri: app.redirectUri,
          username,
          password: u.password,
          totpSecret: u.totpSecret,
          scope,
        });
      };
      const alice = await flow('loadTest', 'alice', LOADTEST_SCOPES);
      tokens.alice = alice.access_token;
      idToken = alice.id_token;
      tokens.aliceBankingRead = (await flow('loadTest', 'alice', 'banking/read')).access_token;
      tokens.aliceProfileRead = (await flow('loadTest', 'alice', 'profile/read')).access_token;
      tokens.aliceMobile = (await flow('mobile', 'alice', 'banking/read profile/read')).access_token;
      tokens.dana = (await flow('backOffice', 'dana', 'data/read data/write profile/read')).access_token;
      tokens.fiona = (
        await flow('backOffice', 'fiona', 'admin/full admin/read admin/write data/read')
      ).access_token;
      const carol = user('carol');
      carolAccount = carol.entitlements.find((e) => e.resource === 'account' && e.id !== '*')?.id as string;
      assert.ok(carolAccount);

      const developers = t.app.services.developers;
      const actor = { type: 'system' as const, id: null, institution: true };
      const created = await developers.apiKeys.create(
        { clientApplicationId: demo.apps.loadTest?.applicationId as string },
        actor,
      );
      await developers.apiKeys.revoke(created.view.id, 'generated suite', actor);
      revokedKey = created.key;

      // The suite's deliberate refusals on the back-office key would trip abuse auto-suspension (which
      // has tests of its own): exempt the demo's standard plan here.
      const standard = (await developers.plans.list()).find((p) => p.name === 'standard');
      assert.ok(standard);
      await developers.plans.set({ ...standard, abuseExempt: true });

      operations = t.app.services.gateway
        .apis()
        .flatMap((api) => api.operations.map((op) => ({ ...op, api: api.name })));
      assert.ok(operations.length > 10, 'the banking and platform APIs are registered');
    });
    after(() => t.close());

    /** Credentials that pass rows 1–7 of the operation's first security alternative. */
    const valid = (op: Operation): Credentials => {
      const first = op.security[0];
      const scopes = first?.scopes ?? [];
      if (scopes.some((s) => s.startsWith('admin/')))
        return { key: demo.apps.backOffice?.apiKey as string, token: tokens.fiona };
      if (scopes.some((s) => s.startsWith('data/')))
        return { key: demo.apps.backOffice?.apiKey as string, token: tokens.dana };
      return { key: demo.apps.loadTest?.apiKey as string, token: first?.token ? tokens.alice : undefined };
    };
    // Each operation calls from its own address, so the suite's deliberate failures never add up to the
    // pre-authentication throttle of one address (which has its own test).
    const addressOf = (op: Operation) => {
      const index = operations.indexOf(op) + 1;
      return `10.99.${index >> 8}.${index & 255}`;
    };
    // Every answer of the suite must also be one the operation's document declares.
    let conformance: Conformance | undefined;
    const conforming = <T extends InjectedAnswer>(answer: T): T => {
      conformance ??= createConformance(t.app);
      conformance.assertConforms(answer);
      return answer;
    };
    const request = async (op: Operation, headers: Record<string, string>, url = fill(op)) =>
      conforming(
        await t.app.http.inject({ method: op.method as 'GET', url, headers, remoteAddress: addressOf(op) }),
      );
    const needsKey = (op: Operation) => op.security.length > 0 && op.security.every((a) => a.apiKey);
    const needsToken = (op: Operation) => op.security.length > 0 && op.security.every((a) => a.token);

    test('every operation declares a security requirement (nothing is anonymous)', () => {
      for (const op of operations) assert.ok(op.security.length > 0, `${op.method} ${op.url}`);
    });

    test('the route table is exactly the union of the published documents', async () => {
      const routes = new Set<string>();
      const stack: string[] = [];
      for (const line of t.app.http.printRoutes({ commonPrefix: false }).split('\n')) {
        const at = line.indexOf('── ');
        if (at < 0) continue;
        const depth = (at - 1) / 4;
        const match = /^(.*?)(?: \(([^)]*)\))?$/.exec(line.slice(at + 3)) as RegExpExecArray;
        stack.length = depth;
        stack.push(match[1] as string);
        const path = stack.join('');
        for (const method of match[2]?.split(', ') ?? []) routes.add(`${method} ${path}`);
      }
      for (const api of t.app.services.gateway.apis()) {
        const doc = (
          await request(
            { ...(api.operations[1] as Operation), api: api.name },
            credentialHeaders(valid({ ...(api.operations[1] as Operation), api: api.name })),
          )
        ).json();
        assert.ok(doc.paths, `${api.name} apiDoc`);
        const documented = new Set<string>();
        for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
          for (const method of Object.keys(item)) {
            if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
            documented.add(`${method.toUpperCase()} /${api.name}${path.replace(/\{([^}]+)\}/g, ':$1')}`);
          }
        }
        const served = [...routes].filter(
          (r) =>
            r.split(' ')[1]?.startsWith(`/${api.name}/`) &&
            !r.startsWith('HEAD ') &&
            !r.startsWith('OPTIONS '),
        );
        assert.deepEqual(new Set(served), documented, api.name);
      }
    });

    const credentialHeaders = (c: Credentials) => ({
      'api-key': c.key,
      ...(c.token ? { authorization: `Bearer ${c.token}` } : {}),
    });

    test('every operation that needs a key refuses a missing one (401, APIKey challenge)', async (ctx) => {
      for (const op of operations.filter(needsKey)) {
        await ctx.test(`${op.method} ${op.url}`, async () => {
          const c = valid(op);
          const response = await request(op, c.token ? { authorization: `Bearer ${c.token}` } : {});
          assert.equal(response.statusCode, 401);
          assert.equal(response.headers['www-authenticate'], 'APIKey realm="strongroom"');
          assert.equal(response.json().type, `${demo.baseUrl}/errors/unauthorized`);
        });
      }
    });

    test('every operation answers unknown and revoked keys identically (401)', async (ctx) => {
      for (const op of operations.filter(needsKey)) {
        await ctx.test(`${op.method} ${op.url}`, async () => {
          const c = valid(op);
          const unknown = await request(
            op,
            credentialHeaders({ ...c, key: `${c.key.slice(0, -8)}AAAAAAAA` }),
          );
          const revoked = await request(op, credentialHeaders({ ...c, key: revokedKey }));
          assert.equal(unknown.statusCode, 401);
          assert.deepEqual(normalized(revoked), normalized(unknown));
        });
      }
    });

    test('every operation that needs a token refuses a missing one (401, Bearer challenge with scopes)', async (ctx) => {
      for (const op of operations.filter(needsToken)) {
        await ctx.test(`${op.method} ${op.url}`, async () => {
          const response = await request(op, { 'api-key': valid(op).key });
          assert.equal(response.statusCode, 401);
          const scopes = op.security[0]?.scopes.join(' ');
          assert.equal(
            response.headers['www-authenticate'],
            scopes ? `Bearer realm="strongroom", scope="${scopes}"` : 'Bearer realm="strongroom"',
          );
        });
      }
    });

    test('every operation that needs a token refuses garbage, ID tokens and expired tokens (401 invalid_token)', async (ctx) => {
      assert.ok(idToken, 'the flow returned an ID token');
      for (const op of operations.filter(needsToken)) {
        await ctx.test(`${op.method} ${op.url}`, async () => {
          const c = valid(op);
          for (const [name, token] of Object.entries({
            garbage: 'eyJhbGciOiJub25lIn0.e30.',
            idToken: idToken as string,
          })) {
            const response = await request(op, credentialHeaders({ ...c, token }));
            assert.equal(response.statusCode, 401, name);
            assert.equal(
              response.headers['www-authenticate'],
              'Bearer realm="strongroom", error="invalid_token"',
              name,
            );
          }
          offsetMs = 3_600_000;
          try {
            const expired = await request(op, credentialHeaders(c));
            assert.equal(expired.statusCode, 401);
            assert.equal(expired.json().type, `${demo.baseUrl}/errors/sessionExpired`);
            assert.equal(
              expired.headers['www-authenticate'],
              'Bearer realm="strongroom", error="invalid_token"',
            );
          } finally {
            offsetMs = 0;
          }
        });
      }
    });

    test("every operation that needs a key and a token refuses another application's token (403)", async (ctx) => {
      for (const op of operations.filter((o) => needsToken(o) && needsKey(o))) {
        await ctx.test(`${op.method} ${op.url}`, async () => {
          const c = valid(op);
          // A token of another application: mobile's with the load-test key, or the load-test one with back office's.
          const other = c.key === demo.apps.loadTest?.apiKey ? tokens.aliceMobile : tokens.alice;
          const response = await request(op, credentialHeaders({ ...c, token: other }));
          assert.equal(response.statusCode, 403);
          assert.equal(response.json().type, `${demo.baseUrl}/errors/forbidden`);
          assert.equal(response.headers['www-authenticate'], undefined);
        });
      }
    });

    test('every operation with scopes refuses a token without them (403 insufficient_scope)', async (ctx) => {
      for (const op of operations.filter((o) => needsToken(o) && (o.security[0]?.scopes.length ?? 0) > 0)) {
        await ctx.test(`${op.method} ${op.url}`, async () => {
          const loadTestKey = demo.apps.loadTest?.apiKey as string;
          const candidates = [tokens.aliceProfileRead, tokens.aliceBankingRead] as string[];
          const granted = (token: string) =>
            token === tokens.aliceProfileRead ? ['profile/read'] : ['banking/read'];
          const token = candidates.find((tk) =>
            op.security.every((a) => a.scopes.some((s) => !granted(tk).includes(s))),
          );
          assert.ok(token);
          const response = await request(op, { 'api-key': loadTestKey, authorization: `Bearer ${token}` });
          assert.equal(response.statusCode, 403);
          assert.equal(
            response.headers['www-authenticate'],
            `Bearer realm="strongroom", error="insufficient_scope", scope="${op.security[0]?.scopes.join(' ')}"`,
          );
        });
      }
    });

    test('every operation with an account check answers "not entitled" exactly like "does not exist" (404)', async (ctx) => {
      const accountChecks = operations.filter(
        (op) =>
          (op.method === 'GET' || op.method === 'DELETE') &&
          op.checks.some(
            (c) => c.resource === 'account' && !c.resolver && (c.in === 'path' || c.in === 'query'),
          ),
      );
      assert.ok(accountChecks.length > 0);
      for (const op of accountChecks) {
        await ctx.test(`${op.method} ${op.url}`, async () => {
          const c = valid(op);
          const check = op.checks.find((k) => k.resource === 'account') as Operation['checks'][number];
          const url = (id: string) => {
            const path = check.in === 'path' ? fill(op, id) : fill(op);
            return check.in === 'query' ? `${path}?${check.name}=${id}` : path;
          };
          const notEntitled = await request(op, credentialHeaders(c), url(carolAccount));
          const missing = await request(op, credentialHeaders(c), url(RANDOM_ID));
          assert.equal(notEntitled.statusCode, 404);
          assert.deepEqual(normalized(notEntitled), normalized(missing));
          assert.equal(notEntitled.headers['content-length'], missing.headers['content-length']);
        });
      }
    });

    test("a transfer of someone else's account answers exactly like a transfer that does not exist", async () => {
      const loadTest = demo.apps.loadTest;
      const alice = demo.users.find((u) => u.username === 'alice');
      const bob = demo.users.find((u) => u.username === 'bob');
      assert.ok(loadTest && alice && bob);
      const bobs = new Set(bob.entitlements.map((e) => e.id));
      const [source, target] = alice.entitlements.filter((e) => e.resource === 'account' && !bobs.has(e.id));
      assert.ok(source && target, 'alice has two accounts bob cannot see');
      const created = conforming(
        await t.app.http.inject({
          method: 'POST',
          url: '/transfers/scheduledTransfers',
          headers: {
            'api-key': loadTest.apiKey,
            authorization: `Bearer ${tokens.alice}`,
            'idempotency-key': 'gen-suite-1',
          },
          payload: {
            sourceAccount: { id: source.id },
            targetAccount: { id: target.id },
            amount: { value: '1.00', currency: 'USD' },
            schedule: { start: `${new Date().getUTCFullYear() + 1}-01-15` },
          },
        }),
      );
      assert.equal(created.statusCode, 201, created.body);
      const transferId = created.json().id as string;
      const bobToken = (
        await authorizationCodeFlow({
          baseUrl: demo.baseUrl,
          clientId: loadTest.clientId,
          clientSecret: loadTest.clientSecret,
          redirectUri: loadTest.redirectUri,
          username: 'bob',
          password: bob.password,
          scope: 'banking/read banking/delete',
        })
      ).access_token;
      const asBob = async (method: 'GET' | 'DELETE', id: string) =>
        conforming(
          await t.app.http.inject({
            method,
            url: `/transfers/scheduledTransfers/${id}`,
            headers: { 'api-key': loadTest.apiKey, authorization: `Bearer ${bobToken}` },
          }),
        );
      for (const method of ['GET', 'DELETE'] as const) {
        const notTheirs = await asBob(method, transferId);
        const missing = await asBob(method, 'trf_NoSuchTransfer0000000');
        assert.equal(notTheirs.statusCode, 404, method);
        assert.deepEqual(normalized(notTheirs), normalized(missing), method);
      }
      const mine = conforming(
        await t.app.http.inject({
          method: 'GET',
          url: `/transfers/scheduledTransfers/${transferId}`,
          headers: { 'api-key': loadTest.apiKey, authorization: `Bearer ${tokens.alice}` },
        }),
      );
      assert.equal(mine.statusCode, 200);
    });

    test('no key, token or secret ever reaches the log', () => {
      const log = t.logs.text();
      const secrets = [
        ...Object.values(demo.apps).flatMap((app) => [app?.apiKey, app?.clientSecret]),
        revokedKey,
        ...Object.values(tokens),
        idToken,
      ].filter((value): value is string => typeof value === 'string' && value.length > 0);
      assert.ok(secrets.length > 8);
      for (const secret of secrets) assert.ok(!log.includes(secret), 'a secret appears in the log');
    });

    test('every operation is rate-limited per key (429 with Retry-After, RateLimit, RateLimit-Policy)', async (ctx) => {
      const developers = t.app.services.developers;
      const plans = (await developers.plans.list()).filter(
        (p) => p.name === 'loadTest' || p.name === 'standard',
      );
      assert.equal(plans.length, 2, 'the demo plans of the load-test and back-office apps');
      for (const plan of plans)
        await developers.plans.set({ ...plan, perSecond: 1, burst: 1, perDay: 1_000_000 });
      await t.app.context.changes.pollNow();
      try {
        for (const op of operations.filter(needsKey)) {
          await ctx.test(`${op.method} ${op.url}`, async () => {
            const c = valid(op);
            let limited: Awaited<ReturnType<typeof request>> | undefined;
            for (let i = 0; i < 3 && !limited; i++) {
              const response = await request(op, credentialHeaders(c));
              if (response.statusCode === 429) limited = response;
            }
            assert.ok(limited, 'a 429 within three calls');
            assert.equal(limited.json().type, `${demo.baseUrl}/errors/tooManyRequests`);
            assert.match(String(limited.headers['retry-after']), /^\d+$/);
            assert.match(String(limited.headers['ratelimit-policy']), /"burst";q=1;w=1/);
            assert.match(String(limited.headers.ratelimit), /"burst";r=0;t=\d+/);
          });
        }
      } finally {
        for (const plan of plans) await developers.plans.set(plan);
      }
    });
  });
}
