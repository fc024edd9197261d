import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SAMPLE_PDF } from '../../src/banking/demo-seed.ts';
import type { DemoApp, DemoDocument, DemoUser } from '../../src/demo/demo-file.ts';
import { type Conformance, createConformance } from '../helpers/conformance.ts';
import { authorizationCodeFlow } from '../helpers/oauth-flow.ts';
import { startDemoServer, type TestApp, testDialects } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

type Username = 'alice' | 'bob' | 'carol' | 'tom' | 'dana' | 'ivan' | 'fiona';
const USERS: Username[] = ['alice', 'bob', 'carol', 'tom', 'dana', 'ivan', 'fiona'];

interface Caller {
  apiKey: string;
  token: string;
}

for (const dialect of testDialects()) {
  describe(`banking APIs through the gateway (${dialect})`, () => {
    let t: TestApp;
    let demo: DemoDocument;
    const callers = new Map<Username, Caller>();
    const accounts: Record<'aliceChecking' | 'aliceSavings' | 'joint' | 'bobChecking' | 'bakery', string> = {
      aliceChecking: '',
      aliceSavings: '',
      joint: '',
      bobChecking: '',
      bakery: '',
    };

    let conformance: Conformance | undefined;
    const call = async (
      who: Username | Caller | undefined,
      method: 'GET' | 'POST' | 'DELETE',
      url: string,
      options: { body?: unknown; headers?: Record<string, string>; raw?: Buffer; contentType?: string } = {},
    ) => {
      const caller = typeof who === 'string' ? callers.get(who) : who;
      const headers: Record<string, string> = { ...options.headers };
      if (caller) headers['api-key'] = caller.apiKey;
      if (caller?.token) headers.authorization = `Bearer ${caller.token}`;
      let body: string | Buffer | undefined;
      if (options.raw) {
        body = options.raw;
        headers['content-type'] = options.contentType ?? 'application/octet-stream';
      } else if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] = 'application/json';
      }
      const response = await t.app.http.inject({ method, url, headers, payload: body });
      // Every answer must be one the operation's OpenAPI document declares (status, type, schema).
      conformance ??= createConformance(t.app);
      conformance.assertConforms(response);
      const type = String(response.headers['content-type'] ?? '');
      return {
        status: response.statusCode,
        headers: response.headers,
        body: (type.includes('json') ? JSON.parse(response.body) : {}) as Record<string, unknown>,
        raw: response.rawPayload,
      };
    };
    const problemType = (body: Record<string, unknown>) =>
      String(body.type ?? '')
        .split('/')
        .pop();

    before(async () => {
      const server = await startDemoServer({ dialect });
      t = server;
      demo = server.demo;
      const user = (name: Username) => demo.users.find((u) => u.username === name) as DemoUser;
      for (const name of USERS) {
        const u = user(name);
        // Operators' data scopes are only on the backOffice app; customers use the abuse-exempt loadTest app
        // so that the many refusals of this suite do not trip abuse detection.
        const app = (
          u.scopes.some((s) => s.startsWith('data/') || s.startsWith('admin/'))
            ? demo.apps.backOffice
            : demo.apps.loadTest
        ) as DemoApp;
        const scope = u.scopes.filter((s) => app.scopes.includes(s)).join(' ');
        const tokens = await authorizationCodeFlow({
          baseUrl: demo.baseUrl,
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          redirectUri: app.redirectUri,
          username: u.username,
          password: u.password,
          totpSecret: u.totpSecret,
          scope,
        });
        callers.set(name, { apiKey: app.apiKey, token: tokens.access_token });
      }
      const rows = await t.app.context.db.selectFrom('banking_accounts').select(['id', 'name']).execute();
      const idsOf = (name: Username) => new Set(user(name).entitlements.map((e) => e.id));
      const named = (name: string, owner: Username) =>
        rows.find((r) => r.name === name && idsOf(owner).has(r.id))?.id as string;
      accounts.aliceChecking = named('Everyday Checking', 'alice');
      accounts.aliceSavings = named('High-Yield Savings', 'alice');
      accounts.joint = named('Joint Household Checking', 'alice');
      accounts.bobChecking = named('Everyday Checking', 'bob');
      accounts.bakery = named("Carol's Bakery LLC", 'carol');
      for (const id of Object.values(accounts)) assert.ok(id);
    });
    after(() => t.close());

    // ---- accounts --------------------------------------------------------------------------------

    test('a customer lists exactly the accounts they are entitled to, numbers masked', async () => {
      const { status, body } = await call('alice', 'GET', '/accounts/accounts');
      assert.equal(status, 200);
      const items = body.items as { id: string; accountNumbers: { masked: string; full?: string } }[];
      assert.deepEqual(
        items.map((i) => i.id).sort(),
        [accounts.aliceChecking, accounts.aliceSavings, accounts.joint].sort(),
      );
      for (const item of items) {
        assert.match(item.accountNumbers.masked, /^\*\d{4}$/);
        assert.equal(item.accountNumbers.full, undefined);
      }
      assert.equal(body.count, 3);
    });

    test('the teller lists every account of the institution', async () => {
      const { status, body } = await call('tom', 'GET', '/accounts/accounts');
      assert.equal(status, 200);
      assert.equal(body.count, 5);
    });

    test('the full account number needs unmasked=true and the viewAccountNumber entitlement', async () => {
      const own = await call('carol', 'GET', `/accounts/accounts/${accounts.bakery}?unmasked=true`);
      assert.equal(own.status, 200);
      assert.match(String((own.body.accountNumbers as { full: string }).full), /^\d{10}$/);
      const beneficial = await call('bob', 'GET', `/accounts/accounts/${accounts.bakery}?unmasked=true`);
      assert.equal(beneficial.status, 403);
      assert.equal(problemType(beneficial.body), 'cannotViewAccountNumber');
      const masked = await call('bob', 'GET', `/accounts/accounts/${accounts.bakery}`);
      assert.equal(masked.status, 200);
      assert.ok(masked.headers.etag);
    });

    test("another customer's account answers 404, identical to an account that does not exist", async () => {
      const other = await call('carol', 'GET', `/accounts/accounts/${accounts.aliceChecking}`);
      const missing = await call('carol', 'GET', '/accounts/accounts/acc_00000000000000000000');
      assert.equal(other.status, 404);
      assert.equal(missing.status, 404);
      const strip = (b: Record<string, unknown>) => ({
        ...b,
        id: '',
        instance: '',
        occurredAt: '',
      });
      assert.deepEqual(strip(other.body), strip(missing.body));
      assert.equal(other.headers['content-length'], missing.headers['content-length']);
    });

    test('an id that is not an opaque id is 404, not 400', async () => {
      const { status } = await call(
        'alice',
        'GET',
        `/accounts/accounts/${encodeURIComponent("acc' OR '1'='1")}`,
      );
      assert.equal(status, 404);
    });

    test('a balance is money as decimal strings', async () => {
      const { status, body } = await call('alice', 'GET', `/accounts/accounts/${accounts.joint}/balance`);
      assert.equal(status, 200);
      assert.equal(body.accountId, accounts.joint);
      const current = body.current as { value: string; currency: string };
      assert.match(current.value, /^-?\d+\.\d{2}$/);
      assert.equal(current.currency, 'USD');
    });

    test('the deposit accounts manager cannot read balances (403 insufficient_scope)', async () => {
      const { status, headers } = await call('dana', 'GET', `/accounts/accounts/${accounts.joint}/balance`);
      assert.equal(status, 403);
      assert.match(String(headers['www-authenticate']), /insufficient_scope/);
    });

    // ---- transactions ----------------------------------------------------------------------------

    test('transactions page with start/limit and next/prev links', async () => {
      const first = await call(
        'alice',
        'GET',
        `/transactions/transactions?account=${accounts.aliceChecking}&limit=10`,
      );
      assert.equal(first.status, 200);
      assert.equal((first.body.items as unknown[]).length, 10);
      assert.ok(Number(first.body.count) > 20);
      const links = first.body._links as { next?: { href: string }; prev?: { href: string } };
      assert.ok(links.next);
      assert.equal(links.prev, undefined);
      const second = await call('alice', 'GET', links.next.href);
      assert.equal(second.status, 200);
      assert.equal(second.body.start, 10);
      assert.ok((second.body._links as { prev?: unknown }).prev);
      const firstIds = new Set((first.body.items as { id: string }[]).map((i) => i.id));
      for (const item of second.body.items as { id: string }[]) assert.ok(!firstIds.has(item.id));
    });

    test('a date range filters by posting date', async () => {
      const all = await call(
        'alice',
        'GET',
        `/transactions/transactions?account=${accounts.aliceChecking}&limit=1000`,
      );
      const dates = (all.body.items as { postedOn: string }[]).map((i) => i.postedOn).sort();
      const from = dates[Math.floor(dates.length / 2)] as string;
      const ranged = await call(
        'alice',
        'GET',
        `/transactions/transactions?account=${accounts.aliceChecking}&startDate=${from}&limit=1000`,
      );
      assert.equal(ranged.status, 200);
      const items = ranged.body.items as { postedOn: string }[];
      assert.ok(items.length > 0 && items.length < dates.length);
      for (const item of items) assert.ok(item.postedOn >= from);
    });

    test('limit above 1000 is 400', async () => {
      const { status, body } = await call(
        'alice',
        'GET',
        `/transactions/transactions?account=${accounts.aliceChecking}&limit=1001`,
      );
      assert.equal(status, 400);
      assert.equal(problemType(body), 'badRequest');
    });

    test('a malformed account id in the query is 404 like any id the user cannot see', async () => {
      for (const bad of ['bad!id', 'a'.repeat(65), "x' OR '1'='1"]) {
        const { status } = await call(
          'alice',
          'GET',
          `/transactions/transactions?account=${encodeURIComponent(bad)}`,
        );
        assert.equal(status, 404, bad);
      }
    });

    test("another customer's transactions are 404", async () => {
      const { status } = await call('alice', 'GET', `/transactions/transactions?account=${accounts.bakery}`);
      assert.equal(status, 404);
    });

    // ---- transfers -------------------------------------------------------------------------------

    const transfer = (from: string, to: string, value = '5.00', start?: string) => ({
      sourceAccount: { id: from },
      targetAccount: { id: to },
      amount: { value, currency: 'USD' },
      schedule: { start: start ?? new Date().toISOString().slice(0, 10) },
      memo: 'Test transfer',
    });

    test('a transfer due today is processed within 5 seconds', async () => {
      const created = await call('alice', 'POST', '/transfers/scheduledTransfers', {
        body: transfer(accounts.aliceChecking, accounts.aliceSavings),
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(created.status, 201);
      assert.equal(created.headers.location, `/transfers/scheduledTransfers/${created.body.id}`);
      let state = '';
      await waitFor(
        async () => {
          const got = await call('alice', 'GET', `/transfers/scheduledTransfers/${created.body.id}`);
          state = String(got.body.state);
          return state === 'processed';
        },
        { timeoutMs: 5000, intervalMs: 50 },
      ).catch(() => {});
      assert.equal(state, 'processed');
      const txns = await call(
        'alice',
        'GET',
        `/transactions/transactions?account=${accounts.aliceSavings}&limit=5`,
      );
      assert.ok((txns.body.items as { transferId?: string }[]).some((i) => i.transferId === created.body.id));
    });

    test('a co-owner can move money out of the joint account', async () => {
      const { status } = await call('bob', 'POST', '/transfers/scheduledTransfers', {
        body: transfer(accounts.joint, accounts.bobChecking, '1.00'),
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(status, 201);
    });

    test('POST without Idempotency-Key is 400', async () => {
      const { status } = await call('alice', 'POST', '/transfers/scheduledTransfers', {
        body: transfer(accounts.aliceChecking, accounts.aliceSavings),
      });
      assert.equal(status, 400);
    });

    test('a replay returns the first result; the same key with another body is 422', async () => {
      const key = randomUUID();
      const body = transfer(accounts.aliceChecking, accounts.joint, '2.00', '2099-01-01');
      const first = await call('alice', 'POST', '/transfers/scheduledTransfers', {
        body,
        headers: { 'idempotency-key': key },
      });
      assert.equal(first.status, 422, 'a date more than a year ahead is refused');
      const date = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
      const ok = transfer(accounts.aliceChecking, accounts.joint, '2.00', date);
      const created = await call('alice', 'POST', '/transfers/scheduledTransfers', {
        body: ok,
        headers: { 'idempotency-key': key },
      });
      assert.equal(created.status, 201);
      const replay = await call('alice', 'POST', '/transfers/scheduledTransfers', {
        body: ok,
        headers: { 'idempotency-key': key },
      });
      assert.equal(replay.status, 201);
      assert.deepEqual(replay.body, created.body);
      const other = await call('alice', 'POST', '/transfers/scheduledTransfers', {
        body: { ...ok, memo: 'changed' },
        headers: { 'idempotency-key': key },
      });
      assert.equal(other.status, 422);
      assert.equal(problemType(other.body), 'idempotencyKeyReused');
    });

    test('unknown fields in the body are 400', async () => {
      const { status, body } = await call('alice', 'POST', '/transfers/scheduledTransfers', {
        body: { ...transfer(accounts.aliceChecking, accounts.aliceSavings), state: 'processed' },
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(status, 400);
      assert.ok(Array.isArray(body.errors));
    });

    test('an account the user cannot see is 422 invalidAccountId; one seen without transferFrom is 403 cannotTransferFrom', async () => {
      const unseen = await call('alice', 'POST', '/transfers/scheduledTransfers', {
        body: transfer(accounts.aliceChecking, accounts.bakery),
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(unseen.status, 422);
      assert.equal(problemType(unseen.body), 'invalidAccountId');
      const seen = await call('bob', 'POST', '/transfers/scheduledTransfers', {
        body: transfer(accounts.bakery, accounts.bobChecking),
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(seen.status, 403);
      assert.equal(problemType(seen.body), 'cannotTransferFrom');
    });

    test('business rules: non-positive amount, same account, currency, date in the past are 422', async () => {
      const cases: [unknown, string][] = [
        [transfer(accounts.aliceChecking, accounts.aliceSavings, '0.00'), 'invalidAmount'],
        [transfer(accounts.aliceChecking, accounts.aliceChecking), 'sameAccount'],
        [
          {
            ...transfer(accounts.aliceChecking, accounts.aliceSavings),
            amount: { value: '1.00', currency: 'EUR' },
          },
          'currencyMismatch',
        ],
        [
          transfer(accounts.aliceChecking, accounts.aliceSavings, '1.00', '2020-01-01'),
          'invalidScheduleDate',
        ],
      ];
      for (const [body, type] of cases) {
        const answer = await call('alice', 'POST', '/transfers/scheduledTransfers', {
          body,
          headers: { 'idempotency-key': randomUUID() },
        });
        assert.equal(answer.status, 422, type);
        assert.equal(problemType(answer.body), type);
      }
    });

    test('the teller cannot move money (403 insufficient_scope)', async () => {
      const { status, headers } = await call('tom', 'POST', '/transfers/scheduledTransfers', {
        body: transfer(accounts.aliceChecking, accounts.aliceSavings),
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(status, 403);
      assert.match(String(headers['www-authenticate']), /scope="banking\/write"/);
    });

    test('a future transfer can be canceled by its owner (If-Match honoured), then no longer', async () => {
      const date = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
      const created = await call('alice', 'POST', '/transfers/scheduledTransfers', {
        body: transfer(accounts.aliceChecking, accounts.aliceSavings, '3.00', date),
        headers: { 'idempotency-key': randomUUID() },
      });
      const url = `/transfers/scheduledTransfers/${created.body.id}`;
      assert.equal((await call('carol', 'DELETE', url)).status, 404);
      assert.equal((await call('alice', 'DELETE', url, { headers: { 'if-match': '"stale"' } })).status, 412);
      const etag = String((await call('alice', 'GET', url)).headers.etag);
      assert.equal((await call('alice', 'DELETE', url, { headers: { 'if-match': etag } })).status, 204);
      assert.equal((await call('alice', 'GET', url)).body.state, 'canceled');
      const again = await call('alice', 'DELETE', url);
      assert.equal(again.status, 409);
      assert.equal(problemType(again.body), 'transferNotCancelable');
    });

    test("transfers are listed by their source account's view entitlement", async () => {
      const carol = await call('carol', 'GET', '/transfers/scheduledTransfers');
      assert.equal(carol.status, 200);
      for (const item of carol.body.items as { sourceAccount: { id: string } }[]) {
        assert.equal(item.sourceAccount.id, accounts.bakery);
      }
      const alice = await call('alice', 'GET', '/transfers/scheduledTransfers');
      assert.ok(Number(alice.body.count) >= 1);
    });

    // ---- products --------------------------------------------------------------------------------

    test('products need the API key only', async () => {
      const key = callers.get('alice')?.apiKey as string;
      const list = await call({ apiKey: key, token: '' }, 'GET', '/products/products?category=cd');
      assert.equal(list.status, 200);
      const items = list.body.items as { id: string; category: string }[];
      assert.ok(items.length >= 2 && items.every((p) => p.category === 'cd'));
      const one = await call({ apiKey: key, token: '' }, 'GET', `/products/products/${items[0]?.id}`);
      assert.equal(one.status, 200);
      assert.equal(
        (await call({ apiKey: key, token: '' }, 'GET', '/products/products/prd_nope')).status,
        404,
      );
      assert.equal((await call(undefined, 'GET', '/products/products')).status, 401);
    });

    // ---- account applications --------------------------------------------------------------------

    test('a customer applies, uploads a document, the manager reviews and approves, and the account appears', async () => {
      const created = await call('carol', 'POST', '/accountApplications/accountApplications', {
        body: {
          productId: 'prd_highYieldSavings',
          applicant: {
            firstName: 'Carol',
            lastName: 'Baker',
            email: 'carol@example.com',
            dateOfBirth: '1985-07-01',
            address: {
              line1: '18 Baker Street',
              city: 'Springfield',
              region: 'IL',
              postalCode: '62701',
              country: 'US',
            },
          },
          identityDocument: {
            type: 'passport',
            number: 'P7654321',
            issuingCountry: 'US',
            expiresOn: '2032-01-01',
          },
          initialDeposit: { value: '150.00', currency: 'USD' },
        },
      });
      assert.equal(created.status, 201);
      assert.equal(created.body.state, 'incomplete');
      const id = String(created.body.id);
      const upload = await call('carol', 'POST', `/accountApplications/accountApplications/${id}/documents`, {
        raw: SAMPLE_PDF,
        contentType: 'application/pdf',
      });
      assert.equal(upload.status, 201);
      assert.equal(upload.body.size, SAMPLE_PDF.length);
      assert.equal(
        (await call('alice', 'GET', `/accountApplications/accountApplications/${id}`)).status,
        404,
      );
      const docs = await call('dana', 'GET', `/accountApplications/accountApplications/${id}/documents`);
      assert.equal(docs.status, 200);
      const documentId = (docs.body.items as { id: string }[])[0]?.id;
      const content = await call(
        'dana',
        'GET',
        `/accountApplications/accountApplications/${id}/documents/${documentId}/content`,
      );
      assert.equal(content.status, 200);
      assert.deepEqual(content.raw, SAMPLE_PDF);
      assert.equal(
        (await call('carol', 'POST', `/accountApplications/accountApplications/${id}/approve`)).status,
        403,
      );
      const approved = await call('dana', 'POST', `/accountApplications/accountApplications/${id}/approve`);
      assert.equal(approved.status, 200);
      assert.equal(approved.body.state, 'approved');
      const accountId = String(approved.body.accountId);
      const mine = await call('carol', 'GET', `/accounts/accounts/${accountId}/balance`);
      assert.equal(mine.status, 200);
      assert.equal((mine.body.current as { value: string }).value, '150.00');
    });

    test('an upload with the wrong media type is 415; a mismatched file is 422', async () => {
      const list = await call('alice', 'GET', '/accountApplications/accountApplications');
      const pending = (list.body.items as { id: string; state: string }[]).find((a) => a.state === 'pending');
      assert.ok(pending);
      const url = `/accountApplications/accountApplications/${pending.id}/documents`;
      assert.equal(
        (await call('alice', 'POST', url, { raw: Buffer.from('hello'), contentType: 'text/plain' })).status,
        415,
      );
      const mismatch = await call('alice', 'POST', url, {
        raw: Buffer.from('not a png'),
        contentType: 'image/png',
      });
      assert.equal(mismatch.status, 422);
      assert.equal(problemType(mismatch.body), 'invalidDocument');
    });

    test('customers list their own applications; the manager lists all of them', async () => {
      const alice = await call('alice', 'GET', '/accountApplications/accountApplications');
      assert.equal(alice.status, 200);
      assert.ok((alice.body.items as unknown[]).length >= 1);
      const bob = await call('bob', 'GET', '/accountApplications/accountApplications');
      assert.equal(bob.body.count, 0);
      const dana = await call('dana', 'GET', '/accountApplications/accountApplications');
      assert.equal(dana.status, 200);
      assert.ok(Number(dana.body.count) >= 1);
    });

    // ---- the role/entitlement matrix ---------------------------------------------------------------

    test('every demo user gets the expected status on every operation', async () => {
      const anApplication = async () => {
        const list = await call('dana', 'GET', '/accountApplications/accountApplications?state=pending');
        return (list.body.items as { id: string }[])[0]?.id ?? 'apl_none';
      };
      const pendingId = await anApplication();
      const ops: [string, (who: Username) => Promise<number>, Record<Username, number>][] = [
        [
          'GET /accounts/accounts',
          async (who) => (await call(who, 'GET', '/accounts/accounts')).status,
          { alice: 200, bob: 200, carol: 200, tom: 200, dana: 403, ivan: 403, fiona: 403 },
        ],
        [
          "GET alice's checking",
          async (who) => (await call(who, 'GET', `/accounts/accounts/${accounts.aliceChecking}`)).status,
          { alice: 200, bob: 404, carol: 404, tom: 200, dana: 403, ivan: 403, fiona: 403 },
        ],
        [
          'GET the joint balance',
          async (who) => (await call(who, 'GET', `/accounts/accounts/${accounts.joint}/balance`)).status,
          { alice: 200, bob: 200, carol: 404, tom: 200, dana: 403, ivan: 403, fiona: 403 },
        ],
        [
          'GET the bakery balance',
          async (who) => (await call(who, 'GET', `/accounts/accounts/${accounts.bakery}/balance`)).status,
          { alice: 404, bob: 200, carol: 200, tom: 200, dana: 403, ivan: 403, fiona: 403 },
        ],
        [
          'GET the bakery transactions',
          async (who) =>
            (await call(who, 'GET', `/transactions/transactions?account=${accounts.bakery}&limit=1`)).status,
          { alice: 404, bob: 200, carol: 200, tom: 200, dana: 403, ivan: 403, fiona: 403 },
        ],
        [
          'POST transfer from the bakery',
          async (who) =>
            (
              await call(who, 'POST', '/transfers/scheduledTransfers', {
                body: transfer(accounts.bakery, accounts.bobChecking, '1.00', '2026-12-31'),
                headers: { 'idempotency-key': randomUUID() },
              })
            ).status,
          { alice: 422, bob: 403, carol: 422, tom: 403, dana: 403, ivan: 403, fiona: 403 },
        ],
        [
          'GET /transfers/scheduledTransfers',
          async (who) => (await call(who, 'GET', '/transfers/scheduledTransfers')).status,
          { alice: 200, bob: 200, carol: 200, tom: 200, dana: 403, ivan: 403, fiona: 403 },
        ],
        [
          'GET /products/products',
          async (who) => (await call(who, 'GET', '/products/products')).status,
          { alice: 200, bob: 200, carol: 200, tom: 200, dana: 200, ivan: 200, fiona: 200 },
        ],
        [
          'GET /accountApplications/accountApplications',
          async (who) => (await call(who, 'GET', '/accountApplications/accountApplications')).status,
          { alice: 200, bob: 200, carol: 200, tom: 200, dana: 200, ivan: 403, fiona: 200 },
        ],
        [
          'GET a pending application',
          async (who) =>
            (await call(who, 'GET', `/accountApplications/accountApplications/${pendingId}`)).status,
          { alice: 200, bob: 404, carol: 404, tom: 404, dana: 200, ivan: 403, fiona: 404 },
        ],
        [
          'POST reject an unknown application',
          async (who) =>
            (
              await call(who, 'POST', '/accountApplications/accountApplications/apl_unknown0000/reject', {
                body: {},
              })
            ).status,
          { alice: 403, bob: 403, carol: 403, tom: 403, dana: 404, ivan: 403, fiona: 403 },
        ],
      ];
      const mismatches: string[] = [];
      for (const [name, run, expected] of ops) {
        for (const who of USERS) {
          const status = await run(who);
          if (status !== expected[who])
            mismatches.push(`${name} as ${who}: ${status}, expected ${expected[who]}`);
        }
      }
      assert.deepEqual(mismatches, []);
    });
  });
}
