import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DemoDocument } from '../../src/demo/demo-file.ts';
import { cliActor } from '../../src/modules/developers/index.ts';
import { type CookieJar, createCookieJar, followAuthorization, jarFetch } from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer, testDialects } from '../helpers/test-app.ts';

const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

for (const dialect of testDialects()) {
  describe(`${dialect}: developer portal over HTTPS`, () => {
    let t: DemoServer;
    let demo: DemoDocument;
    let baseUrl: string;
    const jars: Record<string, CookieJar> = {};
    const sessionCookies: Record<string, string> = {};

    const signIn = async (username: string, password: string, totpSecret?: string, returnTo?: string) => {
      const jar = createCookieJar();
      const callback = await followAuthorization(
        jar,
        `${baseUrl}/portal/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`,
        { baseUrl, redirectUri: `${baseUrl}/portal/callback`, username, password, totpSecret },
      );
      const landed = await jarFetch(jar, callback.toString());
      return { jar, landed };
    };
    const get = async (who: string, path: string) => {
      const response = await jarFetch(jars[who] as CookieJar, `${baseUrl}${path}`);
      return { response, page: await response.text() };
    };
    const post = async (
      who: string,
      path: string,
      form: Record<string, string>,
      headers: Record<string, string> = {},
    ) =>
      jarFetch(jars[who] as CookieJar, `${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(form).toString(),
      });

    before(async () => {
      t = await startDemoServer({ dialect });
      demo = t.demo;
      baseUrl = demo.baseUrl;
      await t.app.services.identity.createUser({
        username: 'quinn',
        password: 'quinn has a long passphrase 1',
        roles: ['developer'],
      });
      for (const [name, password, totp] of [
        ['ivan', undefined, undefined],
        ['fiona', undefined, undefined],
        ['quinn', 'quinn has a long passphrase 1', undefined],
      ] as const) {
        const user = demo.users.find((u) => u.username === name);
        const result = await signIn(name, password ?? user?.password ?? '', totp ?? user?.totpSecret);
        jars[name] = result.jar;
        const setCookie = result.landed.headers.getSetCookie().find((c) => c.startsWith('__Host-sr-portal='));
        sessionCookies[name] = setCookie ?? '';
        assert.equal(result.landed.status, 303);
      }
    });
    after(() => t.close());

    it('signs in through the authorization server and sets a __Host- session cookie (Secure, HttpOnly, SameSite=Lax)', async () => {
      const [pair, ...attributes] = (sessionCookies.quinn ?? '').split('; ');
      assert.match(pair ?? '', /^__Host-sr-portal=[A-Za-z0-9_-]{43}$/);
      for (const attribute of ['Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax'])
        assert.ok(attributes.includes(attribute), attribute);
      assert.ok(!attributes.some((a) => /^Domain=/i.test(a)));
      const { response, page } = await get('quinn', '/portal');
      assert.equal(response.status, 200);
      assert.match(page, /Signed in as <strong>quinn<\/strong>/);
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
      assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
    });

    it('refuses a callback with a missing or foreign state (400) and creates no session', async () => {
      const jar = createCookieJar();
      await jarFetch(jar, `${baseUrl}/portal/login`);
      const response = await jarFetch(jar, `${baseUrl}/portal/callback?code=forged&state=notTheOne`);
      assert.equal(response.status, 400);
      assert.ok(
        !response.headers
          .getSetCookie()
          .some((c) => c.startsWith('__Host-sr-portal=') && !c.includes('Max-Age=0')),
      );
    });

    it('never redirects off-site after sign-in', async () => {
      const user = demo.users.find((u) => u.username === 'quinn');
      assert.equal(user, undefined);
      for (const returnTo of ['//evil.test', 'https://evil.test/', '/\\evil.test']) {
        const result = await signIn('quinn', 'quinn has a long passphrase 1', undefined, returnTo);
        assert.equal(result.landed.headers.get('location'), '/portal');
      }
    });

    it('refuses a form without the CSRF token, or sent cross-site, with 403 and changes nothing', async () => {
      const { page } = await get('quinn', '/portal');
      const before = (await t.app.services.developers.organizations.list(cliActor)).length;
      assert.equal((await post('quinn', '/portal/organizations', { name: 'No token' })).status, 403);
      assert.equal(
        (await post('quinn', '/portal/organizations', { name: 'Wrong', csrf: 'x'.repeat(32) })).status,
        403,
      );
      const crossSite = await post(
        'quinn',
        '/portal/organizations',
        { name: 'Cross', csrf: csrfOf(page) },
        { 'sec-fetch-site': 'cross-site' },
      );
      assert.equal(crossSite.status, 403);
      assert.equal((await t.app.services.developers.organizations.list(cliActor)).length, before);
    });

    it('refuses a form from another site even with a valid token (Origin, Origin: null, Sec-Fetch-Site), 403', async () => {
      const { page } = await get('quinn', '/portal');
      const before = (await t.app.services.developers.organizations.list(cliActor)).length;
      const crossSite: Record<string, string>[] = [
        { origin: 'https://evil.test' },
        { origin: 'null' },
        { origin: 'null', 'sec-fetch-site': 'same-origin' },
        { 'sec-fetch-site': 'same-site' },
        { origin: baseUrl, 'sec-fetch-site': 'cross-site' },
      ];
      for (const headers of crossSite) {
        const response = await post(
          'quinn',
          '/portal/organizations',
          { name: 'X', csrf: csrfOf(page) },
          headers,
        );
        assert.equal(response.status, 403, JSON.stringify(headers));
        assert.match(await response.text(), /sent from another site/);
      }
      assert.equal((await t.app.services.developers.organizations.list(cliActor)).length, before);
    });

    it('accepts a form that a browser sends from our own page (our Origin, Sec-Fetch-Site: same-origin)', async () => {
      const { page } = await get('quinn', '/portal');
      const response = await post(
        'quinn',
        '/portal/organizations',
        { name: 'Same Origin Co', csrf: csrfOf(page) },
        { origin: baseUrl, 'sec-fetch-site': 'same-origin' },
      );
      assert.equal(response.status, 303);
    });

    it('answers 400 listing every error for a form outside its schema, and changes nothing', async () => {
      const orgId = (
        await t.app.services.developers.applications.get(demo.apps.mobile?.applicationId ?? '', cliActor)
      ).organizationId;
      const { page } = await get('ivan', `/portal/organizations/${orgId}`);
      const invitations = (await t.app.services.developers.organizations.openInvitations(orgId, cliActor))
        .length;
      const bogusRole = await post('ivan', `/portal/organizations/${orgId}/invitations`, {
        csrf: csrfOf(page),
        role: 'superuser',
      });
      assert.equal(bogusRole.status, 400);
      assert.match(await bogusRole.text(), /role: must be equal to one of the allowed values/);
      const created = await post('ivan', `/portal/organizations/${orgId}/applications`, {
        csrf: csrfOf(page),
        name: 'Bogus',
        kind: 'mainframe',
        extra: 'field',
      });
      assert.equal(created.status, 400);
      const text = await created.text();
      assert.match(text, /kind: must be equal to one of the allowed values/);
      assert.match(text, /extra: is not a recognised field/);
      assert.equal(
        (await t.app.services.developers.organizations.openInvitations(orgId, cliActor)).length,
        invitations,
      );
      const apps = await t.app.services.developers.applications.list({ organizationId: orgId }, cliActor);
      assert.ok(!apps.some((a) => a.name === 'Bogus'));
    });

    it('issues a new session id at every sign-in; the previous one stops working', async () => {
      const first = await signIn('quinn', 'quinn has a long passphrase 1');
      const before = first.jar.cookies.get('__Host-sr-portal')?.value;
      const again = await followAuthorization(first.jar, `${baseUrl}/portal/login`, {
        baseUrl,
        redirectUri: `${baseUrl}/portal/callback`,
        username: 'quinn',
        password: 'quinn has a long passphrase 1',
      });
      assert.equal((await jarFetch(first.jar, again.toString())).status, 303);
      const after = first.jar.cookies.get('__Host-sr-portal')?.value;
      assert.ok(before && after && before !== after);
      const stale = createCookieJar();
      stale.cookies.set('__Host-sr-portal', { value: before, path: '/' });
      const page = await jarFetch(stale, `${baseUrl}/portal/organizations/org_any`);
      assert.equal(page.status, 303);
      assert.match(page.headers.get('location') ?? '', /^\/portal\/login/);
    });

    it('creates an organization and an application, showing the credentials exactly once', async () => {
      const { page } = await get('quinn', '/portal');
      const created = await post('quinn', '/portal/organizations', { name: 'Quinn Co', csrf: csrfOf(page) });
      assert.equal(created.status, 303);
      const orgPath = created.headers.get('location') ?? '';
      assert.match(orgPath, /^\/portal\/organizations\/org_/);
      const org = await get('quinn', orgPath);
      const registered = await post('quinn', `${orgPath}/applications`, {
        csrf: csrfOf(org.page),
        name: 'Quinn Native',
        kind: 'native',
        redirectUris: 'http://127.0.0.1:7777/cb',
        apis: 'accounts',
      });
      assert.equal(registered.status, 303);
      const appPath = registered.headers.get('location') ?? '';
      const first = await get('quinn', appPath);
      const key = /id="fresh-api-key">([^<]+)</.exec(first.page)?.[1] ?? '';
      assert.match(key, /^srk_test_/);
      assert.ok(!first.page.includes('fresh-client-secret'), 'a native app has no client secret');
      const second = await get('quinn', appPath);
      assert.ok(!second.page.includes(key));
      assert.equal((await t.app.services.developers.keyVerifier.verify(key)).ok, true);
    });

    it("edits application settings; extra scopes become a request; privileged controls are the institution's", async () => {
      const orgs = await t.app.services.developers.organizations.list(cliActor);
      const orgId = orgs.find((o) => o.name === 'Quinn Co')?.id ?? '';
      const app = (await t.app.services.developers.applications.list({ organizationId: orgId }, cliActor))[0];
      assert.ok(app);
      const page = await get('quinn', `/portal/applications/${app.id}`);
      const saved = await post('quinn', `/portal/applications/${app.id}/settings`, {
        csrf: csrfOf(page.page),
        name: 'Quinn Native 2',
        description: 'renamed',
        redirectUris: 'http://127.0.0.1:7777/cb\nhttp://127.0.0.1:7778/cb',
        apis: 'accounts',
        scopes: 'banking/read',
      });
      assert.equal(saved.status, 303);
      const withRequest = new URLSearchParams({
        csrf: csrfOf(page.page),
        name: 'Quinn Native 2',
        redirectUris: 'http://127.0.0.1:7777/cb',
        apis: 'accounts',
      });
      withRequest.append('scopes', 'banking/read');
      withRequest.append('scopes', 'data/read');
      const requested = await jarFetch(
        jars.quinn as CookieJar,
        `${baseUrl}/portal/applications/${app.id}/settings`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: withRequest.toString(),
        },
      );
      assert.equal(requested.status, 303);
      const stored = await t.app.services.developers.applications.get(app.id, cliActor);
      assert.equal(stored.name, 'Quinn Native 2');
      assert.deepEqual(stored.scopes, ['banking/read']);
      const view = await t.app.services.developers.applications.view(stored);
      assert.deepEqual(view.requestedScopes, ['data/read']);
      const denied = await post('quinn', `/portal/applications/${app.id}/institution`, {
        csrf: csrfOf(page.page),
        environment: 'production',
        ratePlan: 'loadTest',
        state: 'active',
      });
      assert.equal(denied.status, 403);
      assert.equal(
        (await t.app.services.developers.applications.get(app.id, cliActor)).environment,
        'sandbox',
      );
      const fionaPage = await get('fiona', `/portal/applications/${app.id}`);
      assert.match(fionaPage.page, /Institution controls/);
      const applied = await post('fiona', `/portal/applications/${app.id}/institution`, {
        csrf: csrfOf(fionaPage.page),
        environment: 'production',
        ratePlan: 'standard',
        state: 'suspended',
        stateReason: 'review',
      });
      assert.equal(applied.status, 303);
      const after = await t.app.services.developers.applications.get(app.id, cliActor);
      assert.equal(after.environment, 'production');
      assert.equal(after.state, 'suspended');
      assert.equal(after.stateReason, 'review');
    });

    it("hides another organization's application (404)", async () => {
      const other = await get('quinn', `/portal/applications/${demo.apps.backOffice?.applicationId}`);
      assert.equal(other.response.status, 404);
      const missing = await get('quinn', '/portal/applications/app_doesNotExist000000');
      assert.equal(missing.response.status, 404);
      const org = await get(
        'quinn',
        `/portal/organizations/${(await t.app.services.developers.applications.get(demo.apps.backOffice?.applicationId ?? '', cliActor)).organizationId}`,
      );
      assert.equal(org.response.status, 404);
    });

    it('lets the institution approve a pending production key; a developer cannot (403)', async () => {
      const mobile = demo.apps.mobile?.applicationId ?? '';
      const ivanPage = await get('ivan', `/portal/applications/${mobile}`);
      assert.equal(ivanPage.response.status, 200);
      const issued = await post('ivan', `/portal/applications/${mobile}/keys`, {
        csrf: csrfOf(ivanPage.page),
        label: 'from portal',
      });
      assert.equal(issued.status, 303);
      const fresh = await get('ivan', `/portal/applications/${mobile}`);
      assert.match(fresh.page, /works once the institution approves it/);
      const keys = await t.app.services.developers.apiKeys.list({ clientApplicationId: mobile }, cliActor);
      const pending = keys.find((k) => k.state === 'pending');
      assert.ok(pending);
      assert.equal(
        (await post('ivan', `/portal/keys/${pending.id}/activate`, { csrf: csrfOf(fresh.page) })).status,
        403,
      );
      const dashboard = await get('fiona', '/portal');
      assert.match(dashboard.page, /Keys awaiting approval/);
      assert.ok(dashboard.page.includes(pending.prefix));
      assert.equal(
        (await post('fiona', `/portal/keys/${pending.id}/activate`, { csrf: csrfOf(dashboard.page) })).status,
        303,
      );
      assert.equal((await t.app.services.developers.apiKeys.get(pending.id, cliActor)).state, 'active');
    });

    it('invites a member with a single-use link', async () => {
      const orgId = (
        await t.app.services.developers.applications.get(demo.apps.mobile?.applicationId ?? '', cliActor)
      ).organizationId;
      const orgPage = await get('ivan', `/portal/organizations/${orgId}`);
      const invited = await post('ivan', `/portal/organizations/${orgId}/invitations`, {
        csrf: csrfOf(orgPage.page),
        role: 'developer',
      });
      assert.equal(invited.status, 303);
      const withLink = await get('ivan', `/portal/organizations/${orgId}`);
      const link = /id="invitation-link">([^<]+)</.exec(withLink.page)?.[1] ?? '';
      assert.match(link, /\/portal\/invitations\/[0-9A-Za-z]{32}$/);
      assert.ok(
        !(await get('ivan', `/portal/organizations/${orgId}`)).page.includes(link),
        'the link is shown once',
      );
      const path = new URL(link).pathname;
      const accept = await get('quinn', path);
      assert.equal(accept.response.status, 200);
      assert.equal((await post('quinn', path, { csrf: csrfOf(accept.page) })).status, 303);
      assert.equal(
        (await get('quinn', `/portal/applications/${demo.apps.mobile?.applicationId}`)).response.status,
        200,
      );
      assert.equal((await post('quinn', path, { csrf: csrfOf(accept.page) })).status, 404);
    });

    it('throttles a flood of form posts from one user (429 with Retry-After)', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 61; i++)
        statuses.push((await post('ivan', '/portal/organizations', { name: 'flood' })).status);
      assert.deepEqual(new Set(statuses.slice(0, 55)), new Set([403]));
      const last = await post('ivan', '/portal/organizations', { name: 'flood' });
      assert.equal(last.status, 429);
      assert.ok(Number(last.headers.get('retry-after')) >= 1);
    });

    it('signs out: the old session cookie no longer works', async () => {
      const jar = jars.quinn as CookieJar;
      const saved = new Map(jar.cookies);
      const { page } = await get('quinn', '/portal');
      assert.equal((await post('quinn', '/portal/logout', { csrf: csrfOf(page) })).status, 303);
      for (const [name, value] of saved) jar.cookies.set(name, value);
      const after = await get('quinn', '/portal/organizations/org_any');
      assert.equal(after.response.status, 303);
      assert.match(after.response.headers.get('location') ?? '', /^\/portal\/login/);
    });
  });
}
