import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliActor } from '../../src/modules/developers/index.ts';
import { type CookieJar, createCookieJar, followAuthorization, jarFetch } from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer, testDialects } from '../helpers/test-app.ts';

const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const PASSWORD = 'devon has a long passphrase 9';

// A new developer's first hour in the portal (issue 13 items 4 and 5), over HTTPS against a real store.
for (const dialect of testDialects()) {
  describe(`${dialect}: the portal for a new developer`, () => {
    let t: DemoServer;
    let baseUrl: string;
    let jar: CookieJar;
    let orgId: string;

    const get = async (path: string) => {
      const response = await jarFetch(jar, `${baseUrl}${path}`);
      return { response, page: await response.text() };
    };
    const post = (path: string, form: URLSearchParams | Record<string, string>) =>
      jarFetch(jar, `${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
    /** Registers an application through the portal's form; answers the application's id. */
    const register = async (form: Record<string, string>, apis: string[] = ['accounts']) => {
      const { page } = await get(`/portal/organizations/${orgId}`);
      const body = new URLSearchParams({ csrf: csrfOf(page), ...form });
      for (const api of apis) body.append('apis', api);
      const created = await post(`/portal/organizations/${orgId}/applications`, body);
      assert.equal(created.status, 303, await created.text());
      return (created.headers.get('location') ?? '').split('/').pop() ?? '';
    };

    before(async () => {
      t = await startDemoServer({ dialect });
      baseUrl = t.demo.baseUrl;
      await t.app.services.identity.createUser({
        username: 'devon',
        password: PASSWORD,
        roles: ['developer'],
      });
      jar = createCookieJar();
      const callback = await followAuthorization(jar, `${baseUrl}/portal/login`, {
        baseUrl,
        redirectUri: `${baseUrl}/portal/callback`,
        username: 'devon',
        password: PASSWORD,
      });
      assert.equal((await jarFetch(jar, callback.toString())).status, 303);
      const { page } = await get('/portal');
      const created = await post('/portal/organizations', { csrf: csrfOf(page), name: 'Dana Labs' });
      orgId = (created.headers.get('location') ?? '').split('/').pop() ?? '';
      assert.match(orgId, /^org_/);
    });
    after(() => t?.close());

    it('saving settings with every API ticked keeps the chosen list (never widens it to "*")', async () => {
      const appId = await register(
        { name: 'Dana Web', kind: 'web', redirectUris: 'https://dana.example/cb' },
        ['accounts'],
      );
      const { page } = await get(`/portal/applications/${appId}`);
      const everyApi = [...page.matchAll(/name="apis" value="([^"]+)"/g)].map((m) => m[1] ?? '');
      assert.ok(everyApi.length >= 5, 'the settings form lists every public API');
      const body = new URLSearchParams({
        csrf: csrfOf(page),
        name: 'Dana Web',
        redirectUris: 'https://dana.example/cb',
      });
      for (const api of everyApi) body.append('apis', api);
      const saved = await post(`/portal/applications/${appId}/settings`, body);
      assert.equal(saved.status, 303);
      const stored = await t.app.services.developers.applications.get(appId, cliActor);
      assert.deepEqual([...stored.apis].sort(), [...everyApi].sort());
      assert.ok(!stored.apis.includes('*'));
    });
  });
}
