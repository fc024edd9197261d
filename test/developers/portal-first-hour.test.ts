import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { cliActor } from '../../src/modules/developers/index.ts';
import {
  type CookieJar,
  createCookieJar,
  followAuthorization,
  jarFetch,
  parseForm,
  pkcePair,
} from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer, testDialects } from '../helpers/test-app.ts';

const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
interface OpenApiJson {
  servers: unknown;
  paths: Record<string, Record<string, unknown>>;
  components: {
    securitySchemes: { accessToken: { flows: { authorizationCode: Record<string, string> } } };
  };
}
interface PostmanRequest {
  method: string;
  header: { key: string; value: string }[];
  auth: { type: string };
  url: { raw: string; path: string[]; query?: { key: string }[]; variable: { key: string }[] };
}
interface PostmanJson {
  info: { schema: string };
  item: { name: string; item: { name: string; request: PostmanRequest }[] }[];
  variable: { key: string; value: string }[];
}

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

    it('registers the API reference redirect page on a sandbox app, and the reference signs in with its client id', async () => {
      const appId = await register({
        name: 'Dana SPA',
        kind: 'spa',
        redirectUris: 'https://dana.example/spa',
      });
      const stored = await t.app.services.developers.applications.get(appId, cliActor);
      assert.equal(stored.environment, 'sandbox');
      assert.deepEqual(stored.redirectUris, [
        'https://dana.example/spa',
        `${baseUrl}/portal/oauth2-redirect`,
      ]);
      const client = await t.app.services.oauth.clients.get(stored.clientId);
      assert.deepEqual(client?.redirectUris, stored.redirectUris);
      // oidc-provider refuses a native client's https redirect on localhost: a local demo's native apps skip it.
      const nativeId = await register({
        name: 'Dana Native',
        kind: 'native',
        redirectUris: 'http://127.0.0.1:7000/cb',
      });
      const native = await t.app.services.developers.applications.get(nativeId, cliActor);
      assert.deepEqual(native.redirectUris, ['http://127.0.0.1:7000/cb']);
      const { response, page } = await get(`/portal/apis/accounts?app=${appId}`);
      assert.equal(response.status, 200);
      assert.match(page, new RegExp(`data-client-id="${stored.clientId}"`));
      assert.match(page, new RegExp(`data-redirect-url="${baseUrl}/portal/oauth2-redirect"`));
      assert.match(page, /data-confidential="false"/);
      assert.match(page, /data-scopes="banking\/read[^"]*"/);
    });

    it("serves the redirect page the Authorize window lands on (not 404), with Swagger UI's script", async () => {
      const redirect = await fetch(`${baseUrl}/portal/oauth2-redirect?code=abc&state=xyz`);
      assert.equal(redirect.status, 200);
      assert.match(redirect.headers.get('content-type') ?? '', /^text\/html/);
      const body = await redirect.text();
      assert.match(body, /<script src="\/static\/portal\/swagger-ui\/oauth2-redirect.js"><\/script>/);
      assert.ok(!body.includes('abc'), 'the page does not echo the code');
      const script = await fetch(`${baseUrl}/static/portal/swagger-ui/oauth2-redirect.js`);
      assert.equal(script.status, 200);
      assert.match(await script.text(), /swaggerUIRedirectOauth2/);
    });

    it('downloads each API document as YAML and JSON (same document, absolute OAuth endpoints)', async () => {
      const json = await fetch(`${baseUrl}/portal/apis/accounts/openapi.json`);
      assert.equal(json.status, 200);
      assert.match(
        json.headers.get('content-disposition') ?? '',
        /attachment; filename="accounts.openapi.json"/,
      );
      const doc = (await json.json()) as OpenApiJson;
      assert.deepEqual(doc.servers, [
        { url: `${baseUrl}/accounts`, description: t.app.config.institutionName },
      ]);
      const flow = doc.components.securitySchemes.accessToken.flows.authorizationCode;
      assert.equal(flow.authorizationUrl, `${baseUrl}/auth/oauth2/authorize`);
      assert.equal(flow.tokenUrl, `${baseUrl}/auth/oauth2/token`);
      const yaml = await fetch(`${baseUrl}/portal/apis/accounts/openapi.yaml`);
      assert.equal(yaml.status, 200);
      assert.match(yaml.headers.get('content-type') ?? '', /^application\/yaml/);
      assert.deepEqual(parseYaml(await yaml.text()), doc);
      const missing = await fetch(`${baseUrl}/portal/apis/nosuchapi/openapi.yaml`);
      assert.equal(missing.status, 404);
    });

    it('generates a Postman collection (v2.1) with one request per operation and variables for credentials', async () => {
      const response = await fetch(`${baseUrl}/portal/apis/accounts/postman.json`);
      assert.equal(response.status, 200);
      const collection = (await response.json()) as PostmanJson;
      assert.equal(
        collection.info.schema,
        'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
      );
      const doc = (await (await fetch(`${baseUrl}/portal/apis/accounts/openapi.json`)).json()) as OpenApiJson;
      const operations = Object.values(doc.paths).flatMap((item) =>
        Object.keys(item).filter((m) => ['get', 'put', 'post', 'delete', 'patch'].includes(m)),
      );
      const requests = collection.item.flatMap((folder) => folder.item);
      assert.equal(requests.length, operations.length);
      const list = requests.find(
        (r) => r.request.url.path.join('/') === 'accounts' && r.request.method === 'GET',
      );
      assert.ok(list, 'GET /accounts is in the collection');
      assert.equal(list.request.url.raw, '{{baseUrl}}/accounts');
      assert.ok(list.request.url.query?.some((q) => q.key === 'limit'));
      assert.deepEqual(list.request.header[0], { key: 'API-Key', value: '{{apiKey}}' });
      assert.equal(list.request.auth.type, 'bearer');
      const byId = requests.find((r) => r.request.url.path.join('/') === 'accounts/:accountId');
      assert.deepEqual(
        byId?.request.url.variable.map((v: { key: string }) => v.key),
        ['accountId'],
      );
      assert.deepEqual(
        collection.variable.map((v: { key: string }) => v.key),
        ['baseUrl', 'apiKey', 'accessToken'],
      );
      assert.equal(collection.variable[0]?.value, `${baseUrl}/accounts`);
    });

    it("shows a getting-started page with the app's real ids in curl, SDK and CLI snippets, never a secret", async () => {
      const { page: orgPage } = await get(`/portal/organizations/${orgId}`);
      const body = new URLSearchParams({
        csrf: csrfOf(orgPage),
        name: 'Dana CLI',
        kind: 'native',
        redirectUris: 'http://127.0.0.1:8765/callback',
      });
      body.append('apis', 'accounts');
      body.append('apis', 'products');
      const created = await post(`/portal/organizations/${orgId}/applications`, body);
      const appPath = created.headers.get('location') ?? '';
      const first = await get(appPath);
      const key = /id="fresh-api-key">([^<]+)</.exec(first.page)?.[1] ?? '';
      assert.match(key, /^srk_test_/);
      assert.match(first.page, new RegExp(`href="${appPath}/getting-started"`));
      const app = await t.app.services.developers.applications.get(appPath.split('/').pop() ?? '', cliActor);

      const { response, page } = await get(`${appPath}/getting-started`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const text = page.replaceAll('&#39;', "'").replaceAll('&quot;', '"').replaceAll('&amp;', '&');
      assert.ok(text.includes(`curl --cacert '${t.dataDir}/tls/ca.pem' -H "API-Key: $STRONGROOM_API_KEY"`));
      assert.ok(text.includes(`${baseUrl}/products/products`));
      assert.ok(text.includes(`-H "Authorization: Bearer $ACCESS_TOKEN"`));
      assert.ok(text.includes(`npx strongroom login --base-url ${baseUrl}`));
      assert.ok(text.includes(`--client-id ${app.clientId}`));
      assert.ok(text.includes('--redirect-uri http://127.0.0.1:8765/callback'));
      assert.ok(text.includes('npx strongroom call GET /accounts/accounts'));
      assert.ok(text.includes("import { createClient } from '@strongroom/client';"));
      assert.ok(text.includes(`clientId: '${app.clientId}'`));
      assert.ok(text.includes(`baseUrl: '${baseUrl}'`));
      // The key is recognisable by its visible part, but neither it nor any secret is on the page.
      assert.ok(text.includes(`${key.slice(0, 30)}…${key.slice(-4)}`));
      assert.ok(!text.includes(key));
      assert.ok(!/srk_test_[0-9A-Za-z]{20}_[0-9A-Za-z]{38}/.test(text));
    });

    it("a web app's getting-started page uses its client secret from the environment and its https redirect", async () => {
      const { page: orgPage } = await get(`/portal/organizations/${orgId}`);
      const body = new URLSearchParams({
        csrf: csrfOf(orgPage),
        name: 'Dana Server',
        kind: 'web',
        redirectUris: 'https://dana.example/signed-in',
      });
      body.append('apis', 'accounts');
      const created = await post(`/portal/organizations/${orgId}/applications`, body);
      const appPath = created.headers.get('location') ?? '';
      const first = await get(appPath);
      const secret = /id="fresh-client-secret">([^<]+)</.exec(first.page)?.[1] ?? '';
      assert.ok(secret.length >= 22);
      const { page } = await get(`${appPath}/getting-started`);
      const text = page.replaceAll('&#39;', "'");
      assert.ok(text.includes('clientSecret: process.env.STRONGROOM_CLIENT_SECRET'));
      assert.ok(text.includes("redirectUri: 'https://dana.example/signed-in'"));
      assert.ok(text.includes('Register a <em>native</em> application'), 'the CLI needs a native app');
      assert.ok(!page.includes(secret));
    });

    it("answers 404 for another organization's application's getting-started page", async () => {
      const other = await get(
        `/portal/applications/${t.demo.apps.backOffice?.applicationId}/getting-started`,
      );
      assert.equal(other.response.status, 404);
    });

    it('lets the reference (our own origin) redeem a code for a confidential sandbox app; other origins stay refused', async () => {
      const appId = await register({
        name: 'Dana Secret',
        kind: 'web',
        redirectUris: 'https://dana.example/s',
      });
      const { page } = await get(`/portal/applications/${appId}`);
      const secret = /id="fresh-client-secret">([^<]+)</.exec(page)?.[1] ?? '';
      const app = await t.app.services.developers.applications.get(appId, cliActor);
      const redeem = (origin: string) =>
        fetch(`${baseUrl}/auth/oauth2/token`, {
          method: 'POST',
          headers: {
            origin,
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${app.clientId}:${secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code: 'not-a-real-code',
            redirect_uri: `${baseUrl}/portal/oauth2-redirect`,
            code_verifier: 'v'.repeat(43),
          }).toString(),
        });
      const ours = await redeem(baseUrl);
      assert.equal(ours.status, 400);
      assert.equal(
        ((await ours.json()) as { error: string }).error,
        'invalid_grant',
        'past the origin check',
      );
      const theirs = await redeem('https://evil.example');
      assert.equal(theirs.status, 400);
      const refused = (await theirs.json()) as { error: string; error_description: string };
      assert.equal(refused.error, 'invalid_request');
      assert.match(refused.error_description, /origin/);
    });

    it("keeps the application form's input and shows every error at once (an http redirect URI is no dead end)", async () => {
      const { page: orgPage } = await get(`/portal/organizations/${orgId}`);
      const body = new URLSearchParams({
        csrf: csrfOf(orgPage),
        name: '   ',
        description: 'keep <me>',
        kind: 'spa',
        redirectUris: 'http://dana.example/cb\nhttps://ok.example/cb',
        corsOrigins: 'https://ok.example',
      });
      body.append('apis', 'accounts');
      const before = (await t.app.services.developers.applications.list({ organizationId: orgId }, cliActor))
        .length;
      const refused = await post(`/portal/organizations/${orgId}/applications`, body);
      assert.equal(refused.status, 422); // well-formed but unusable values, as the API answers them
      assert.match(refused.headers.get('content-type') ?? '', /^text\/html/);
      const page = await refused.text();
      const errors =
        /<div class="error" role="alert" id="register-errors">([\s\S]*?)<\/div>/.exec(page)?.[1] ?? '';
      assert.match(errors, /Name: must not be blank/);
      assert.match(errors, /Redirect URIs, http:\/\/dana.example\/cb: must use https/);
      assert.match(
        page,
        /<textarea id="app-redirects"[^>]*aria-invalid="true"[^>]*>http:\/\/dana.example\/cb\nhttps:\/\/ok.example\/cb<\/textarea>/,
      );
      assert.match(page, /id="app-description"[^>]*value="keep &lt;me&gt;"/);
      assert.match(page, /<option value="spa" selected>/);
      assert.match(page, /<textarea id="app-origins"[^>]*>https:\/\/ok.example<\/textarea>/);
      assert.match(page, /id="api-accounts" name="apis" value="accounts" checked>/);
      assert.match(page, /id="api-products" name="apis" value="products">/);
      const after = (await t.app.services.developers.applications.list({ organizationId: orgId }, cliActor))
        .length;
      assert.equal(after, before, 'nothing was registered');
    });

    it('asks before revoking a key, revokes only when confirmed, and says it worked', async () => {
      const appId = await register({
        name: 'Dana Revoke',
        kind: 'web',
        redirectUris: 'https://dana.example/r',
      });
      const [key] = await t.app.services.developers.apiKeys.list({ clientApplicationId: appId }, cliActor);
      assert.ok(key);
      const { page: appPage } = await get(`/portal/applications/${appId}`);
      assert.match(
        appPage,
        new RegExp(`<a class="button button-danger" href="/portal/keys/${key.id}/revoke"`),
      );
      const confirm = await get(`/portal/keys/${key.id}/revoke`);
      assert.equal(confirm.response.status, 200);
      assert.match(confirm.page, /Every call with this key answers 401 at once/);
      assert.match(confirm.page, /<input type="hidden" name="confirm" value="yes">/);
      // A post without the confirmation changes nothing and goes to the question.
      const unconfirmed = await post(`/portal/keys/${key.id}/revoke`, { csrf: csrfOf(confirm.page) });
      assert.equal(unconfirmed.status, 303);
      assert.equal(unconfirmed.headers.get('location'), `/portal/keys/${key.id}/revoke`);
      assert.equal((await t.app.services.developers.apiKeys.get(key.id, cliActor)).state, 'active');
      const revoked = await post(`/portal/keys/${key.id}/revoke`, {
        csrf: csrfOf(confirm.page),
        confirm: 'yes',
      });
      assert.equal(revoked.status, 303);
      assert.equal((await t.app.services.developers.apiKeys.get(key.id, cliActor)).state, 'revoked');
      const { page } = await get(`/portal/applications/${appId}`);
      assert.match(
        page,
        new RegExp(
          `role="status">API key ${key.prefix}…${key.last4} is revoked: calls with it now answer 401.`,
        ),
      );
      assert.ok(!page.includes('fresh-secrets'), 'a notice is not a credentials card');
    });

    it('consent tells a developer plainly that their account cannot grant the banking scopes an app asks for', async () => {
      const mobile = t.demo.apps.mobile;
      assert.ok(mobile);
      const browser = createCookieJar();
      const { challenge } = pkcePair();
      const authorizeUrl = new URL(`${baseUrl}/auth/oauth2/authorize`);
      for (const [key, value] of Object.entries({
        response_type: 'code',
        client_id: mobile.clientId,
        redirect_uri: mobile.redirectUri,
        scope: 'openid banking/read banking/readBalance',
        state: 'st',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }))
        authorizeUrl.searchParams.set(key, value);
      let response = await jarFetch(browser, authorizeUrl.toString());
      let page = '';
      for (let hops = 0; hops < 10; hops++) {
        if (response.status === 303) {
          response = await jarFetch(
            browser,
            new URL(response.headers.get('location') ?? '', baseUrl).toString(),
          );
          continue;
        }
        page = await response.text();
        if (!page.includes('name="password"')) break;
        const { action, csrf } = parseForm(page);
        response = await jarFetch(browser, new URL(action, baseUrl).toString(), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ csrf, username: 'devon', password: PASSWORD }).toString(),
        });
      }
      assert.match(page, /Allow access\?/);
      assert.ok(!page.includes('Confirm your identity only'));
      assert.match(page, /your account cannot give this application any of the access it asks for/);
      assert.match(
        page,
        /Not available to your account: <span class="mono">banking\/read banking\/readBalance<\/span>/,
      );
      assert.match(page, /sign in as a customer/);
    });

    it('issues a key with an optional expiry date and warns on the page when it expires within a week', async () => {
      const appId = await register({
        name: 'Dana Expiry',
        kind: 'web',
        redirectUris: 'https://dana.example/e',
      });
      const { page } = await get(`/portal/applications/${appId}`);
      assert.match(page, /<input id="key-expires" name="expiresOn" type="date">/);
      const soon = new Date(t.app.context.clock.now() + 3 * 86_400_000).toISOString().slice(0, 10);
      const issued = await post(`/portal/applications/${appId}/keys`, {
        csrf: csrfOf(page),
        label: 'short',
        expiresOn: soon,
      });
      assert.equal(issued.status, 303);
      const keys = await t.app.services.developers.apiKeys.list({ clientApplicationId: appId }, cliActor);
      const short = keys.find((k) => k.label === 'short');
      assert.equal(short?.expiresAt, `${soon}T23:59:59.000Z`);
      const after = (await get(`/portal/applications/${appId}`)).page;
      const row = new RegExp(`<tr id="key-${short?.id}">[\\s\\S]*?</tr>`).exec(after)?.[0] ?? '';
      assert.match(row, /expires soon: rotate it/);
      const other = keys.find((k) => k.label !== 'short');
      const otherRow = new RegExp(`<tr id="key-${other?.id}">[\\s\\S]*?</tr>`).exec(after)?.[0] ?? '';
      assert.ok(otherRow && !otherRow.includes('expires soon'));
      const bad = await post(`/portal/applications/${appId}/keys`, {
        csrf: csrfOf(page),
        expiresOn: '2020-01-01',
      });
      assert.equal(bad.status, 400, 'a past date is refused');
    });
  });
}
