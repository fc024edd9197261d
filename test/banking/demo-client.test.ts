import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { DemoApp, DemoDocument } from '../../src/demo/demo-file.ts';
import { createManualClock, type ManualClock } from '../../src/lib/clock.ts';
import { type CookieJar, createCookieJar, followAuthorization, jarFetch } from '../helpers/oauth-flow.ts';
import { createTestApp, startDemoServer, type TestApp, testDialects } from '../helpers/test-app.ts';

const SESSION = '__Host-strongroom-demo';

const form = (values: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
  body: new URLSearchParams(values).toString(),
});
const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

describe('/demo/ without the demo institution', () => {
  test('shows a friendly page instead of failing', async () => {
    const t = await createTestApp();
    try {
      const response = await t.app.http.inject({ method: 'GET', url: '/demo/' });
      assert.equal(response.statusCode, 200);
      assert.match(response.body, /demo institution is not set up/);
    } finally {
      await t.close();
    }
  });
});

for (const dialect of testDialects()) {
  describe(`/demo/ back-office client (${dialect})`, () => {
    let t: TestApp;
    let demo: DemoDocument;
    let backOffice: DemoApp;
    let clock: ManualClock;

    before(async () => {
      clock = createManualClock(Date.now());
      const server = await startDemoServer({ dialect, clock });
      t = server;
      demo = server.demo;
      backOffice = demo.apps.backOffice as DemoApp;
    });
    after(() => t.close());

    // A TOTP code is accepted once per 30-second step and this app's clock is a manual one, so each MFA user
    // signs in once per suite and the session is reused.
    let danaJar: CookieJar | undefined;
    async function danaSession(): Promise<CookieJar> {
      danaJar ??= (await signIn('dana')).jar;
      return danaJar;
    }

    /** Sign in through /demo/ and the real authorization server pages; returns the browser's cookie jar. */
    async function signIn(username: string): Promise<{ jar: CookieJar; before: string | undefined }> {
      const user = demo.users.find((u) => u.username === username);
      assert.ok(user);
      const jar = createCookieJar();
      const home = await jarFetch(jar, `${demo.baseUrl}/demo/`);
      const before = jar.cookies.get(SESSION)?.value;
      const start = await jarFetch(
        jar,
        `${demo.baseUrl}/demo/login`,
        form({ csrf: csrfOf(await home.text()) }),
      );
      assert.equal(start.status, 303);
      const callback = await followAuthorization(jar, String(start.headers.get('location')), {
        baseUrl: demo.baseUrl,
        redirectUri: backOffice.redirectUri,
        username,
        password: user.password,
        totpSecret: user.totpSecret,
      });
      const done = await jarFetch(jar, callback.href);
      assert.equal(done.status, 303);
      assert.equal(done.headers.get('location'), '/demo/');
      return { jar, before };
    }

    test('the session cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/', async () => {
      const response = await t.app.http.inject({ method: 'GET', url: '/demo/' });
      const cookie = String(response.headers['set-cookie']);
      assert.match(cookie, /^__Host-strongroom-demo=[A-Za-z0-9_-]{43};/);
      for (const attribute of ['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/'])
        assert.ok(cookie.includes(attribute), attribute);
      assert.ok(!/Domain=/i.test(cookie));
    });

    test('a customer signs in and sees their accounts and balances; the session id changes at sign-in', async () => {
      const { jar, before } = await signIn('alice');
      const after = jar.cookies.get(SESSION)?.value;
      assert.ok(before && after && before !== after);
      const page = await (await jarFetch(jar, `${demo.baseUrl}/demo/`)).text();
      assert.match(page, /Hello, alice/);
      assert.match(page, /Joint Household Checking/);
      assert.match(page, /\d+\.\d{2} USD/);
      const stale = createCookieJar();
      stale.cookies.set(SESSION, { value: before, path: '/' });
      assert.match(
        await (await jarFetch(stale, `${demo.baseUrl}/demo/`)).text(),
        /Sign in with the authorization server/,
      );
    });

    test('a transfer form without the CSRF token is refused (403) and moves no money', async () => {
      const { jar } = await signIn('bob');
      const count = async () =>
        Number(
          (
            await t.app.context.db
              .selectFrom('banking_transfers')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const before = await count();
      const ids = demo.users.find((u) => u.username === 'bob')?.entitlements.map((e) => e.id) ?? [];
      const response = await jarFetch(
        jar,
        `${demo.baseUrl}/demo/transfers`,
        form({ source: ids[0] ?? '', target: ids[1] ?? '', amount: '1.00', date: '2026-12-31' }),
      );
      assert.equal(response.status, 403);
      assert.equal(await count(), before);
    });

    test('a form with its token but from another site (foreign Origin, Origin: null) is refused with 403', async () => {
      const { jar } = await signIn('bob');
      const home = await (await jarFetch(jar, `${demo.baseUrl}/demo/`)).text();
      for (const origin of ['https://evil.test', 'null']) {
        const request = form({ csrf: csrfOf(home), probe: 'balances' });
        const response = await jarFetch(jar, `${demo.baseUrl}/demo/try`, {
          ...request,
          headers: { ...(request.headers as Record<string, string>), origin },
        });
        assert.equal(response.status, 403, origin);
        assert.match(await response.text(), /sent from another site/);
      }
      const page = await (await jarFetch(jar, `${demo.baseUrl}/demo/`)).text();
      assert.doesNotMatch(page, /What the gateway answered/);
    });

    test('a callback whose state does not match is refused without exchanging the code', async () => {
      const jar = createCookieJar();
      const home = await jarFetch(jar, `${demo.baseUrl}/demo/`);
      await jarFetch(jar, `${demo.baseUrl}/demo/login`, form({ csrf: csrfOf(await home.text()) }));
      const response = await jarFetch(jar, `${demo.baseUrl}/demo/callback?code=abc&state=forged`);
      assert.equal(response.status, 400);
      assert.match(await response.text(), /not valid for this browser session/);
    });

    test('the teller trying a transfer sees the gateway’s 403 problem document', async () => {
      const { jar } = await signIn('tom');
      const home = await (await jarFetch(jar, `${demo.baseUrl}/demo/`)).text();
      assert.match(home, /Hello, tom/);
      const probe = await jarFetch(
        jar,
        `${demo.baseUrl}/demo/try`,
        form({ csrf: csrfOf(home), probe: 'transferOut' }),
      );
      assert.equal(probe.status, 303);
      const page = await (await jarFetch(jar, `${demo.baseUrl}/demo/`)).text();
      assert.match(page, /POST \/transfers\/scheduledTransfers<\/strong> → <span class="demo-status">403/);
      assert.match(page, /errors\/forbidden/);
    });

    test('the deposit accounts manager sees why she cannot list accounts or balances', async () => {
      const jar = await danaSession();
      const page = await (await jarFetch(jar, `${demo.baseUrl}/demo/`)).text();
      assert.match(page, /Hello, dana/);
      assert.match(page, /GET \/accounts\/accounts\?limit=100<\/strong> → <span class="demo-status">403/);
    });

    test('a customer cannot decide applications; the deposit accounts manager approves the pending one', async () => {
      const pending = await t.app.context.db
        .selectFrom('banking_applications')
        .select('id')
        .where('state', '=', 'pending')
        .executeTakeFirstOrThrow();
      const alice = await signIn('alice');
      const aliceHome = await (await jarFetch(alice.jar, `${demo.baseUrl}/demo/`)).text();
      assert.match(aliceHome, new RegExp(`${pending.id}`));
      await jarFetch(
        alice.jar,
        `${demo.baseUrl}/demo/applications/${pending.id}/approve`,
        form({ csrf: csrfOf(aliceHome) }),
      );
      const refused = await (await jarFetch(alice.jar, `${demo.baseUrl}/demo/`)).text();
      assert.match(refused, /Decision refused/);
      assert.match(refused, /<span class="demo-status">403/);

      const dana = { jar: await danaSession() };
      const danaHome = await (await jarFetch(dana.jar, `${demo.baseUrl}/demo/`)).text();
      assert.match(danaHome, new RegExp(`${pending.id}`));
      await jarFetch(
        dana.jar,
        `${demo.baseUrl}/demo/applications/${pending.id}/approve`,
        form({ csrf: csrfOf(danaHome) }),
      );
      const approved = await (await jarFetch(dana.jar, `${demo.baseUrl}/demo/`)).text();
      assert.match(approved, /Application approved/);
      assert.match(approved, /&quot;state&quot;: &quot;approved&quot;/);
    });

    test('the access token is refreshed shortly before it expires', async () => {
      const { jar } = await signIn('carol');
      const accessToken = async () => {
        // Sessions are stored under the SHA-256 of the cookie value, sealed and bound to their key.
        const key = `demo:session:${createHash('sha256')
          .update(jar.cookies.get(SESSION)?.value as string)
          .digest('hex')}`;
        const sealed = (await t.app.context.shared.get(key)) as string;
        const session = JSON.parse(t.app.context.sealer.open(sealed, key));
        return session.data.tokens.accessToken as string;
      };
      const first = await accessToken();
      await jarFetch(jar, `${demo.baseUrl}/demo/`);
      assert.equal(await accessToken(), first);
      clock.advance(270_000);
      const page = await (await jarFetch(jar, `${demo.baseUrl}/demo/`)).text();
      assert.match(page, /Hello, carol/);
      assert.match(page, /Carol&#39;s Bakery LLC/);
      assert.notEqual(await accessToken(), first);
    });

    test('signing out ends the session', async () => {
      const { jar } = await signIn('carol');
      const home = await (await jarFetch(jar, `${demo.baseUrl}/demo/`)).text();
      const session = jar.cookies.get(SESSION)?.value as string;
      const out = await jarFetch(jar, `${demo.baseUrl}/demo/logout`, form({ csrf: csrfOf(home) }));
      assert.equal(out.status, 303);
      const replay = createCookieJar();
      replay.cookies.set(SESSION, { value: session, path: '/' });
      assert.match(
        await (await jarFetch(replay, `${demo.baseUrl}/demo/`)).text(),
        /Sign in with the authorization server/,
      );
    });
  });
}
