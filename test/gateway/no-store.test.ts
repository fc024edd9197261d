import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { authorizationCodeFlow } from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer } from '../helpers/test-app.ts';

/**
 * Issue 10 item 10: every answer carrying customer or credential data is `Cache-Control: no-store` —
 * checked over the operations that return them (banking data of a customer; applications, keys and
 * usage of a developer), while public listings stay cacheable.
 */
interface Credentials {
  token: string;
  apiKey: string;
}

describe('Cache-Control: no-store on customer and credential data', () => {
  let t: DemoServer;
  let alice: Credentials;
  let ivan: Credentials;
  let apiKey: string;

  /** A user's token through a demo app, with that app's key (a token is bound to its app). */
  const signIn = async (username: string, appName: 'mobile' | 'backOffice', scope: string) => {
    const user = t.demo.users.find((u) => u.username === username);
    const app = t.demo.apps[appName];
    assert.ok(user && app);
    const tokens = await authorizationCodeFlow({
      baseUrl: t.baseUrl,
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      redirectUri: app.redirectUri,
      username,
      password: user.password,
      totpSecret: user.totpSecret,
      scope,
    });
    return { token: tokens.access_token, apiKey: app.apiKey };
  };

  before(async () => {
    t = await startDemoServer();
    apiKey = String(t.demo.apps.mobile?.apiKey);
    alice = await signIn('alice', 'mobile', 'banking/read banking/readBalance');
    ivan = await signIn('ivan', 'backOffice', 'admin/read');
  });
  after(() => t.close());

  const get = (path: string, as?: Credentials, token = as?.token) =>
    fetch(`${t.baseUrl}${path}`, {
      headers: { 'api-key': as?.apiKey ?? apiKey, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });

  test('every operation returning customer or credential data answers no-store', async () => {
    const aliceUser = t.demo.users.find((u) => u.username === 'alice');
    const accountId = String(aliceUser?.entitlements[0]?.id);
    const applicationId = String(t.demo.apps.mobile?.applicationId);
    const keyId = String(t.demo.apps.mobile?.apiKeyId);
    const operations: [string, Credentials][] = [
      ['/accounts/accounts', alice],
      [`/accounts/accounts/${accountId}`, alice],
      [`/accounts/accounts/${accountId}/balance`, alice],
      [`/transactions/transactions?account=${accountId}`, alice],
      ['/transfers/scheduledTransfers', alice],
      ['/clientApplications/clientApplications', ivan],
      [`/clientApplications/clientApplications/${applicationId}`, ivan],
      [`/apiKeys/apiKeys?clientApplication=${applicationId}`, ivan],
      [`/apiKeys/apiKeys/${keyId}`, ivan],
      [`/apiKeys/apiKeys/${keyId}/usage`, ivan],
    ];
    for (const [path, as] of operations) {
      const res = await get(path, as);
      await res.arrayBuffer();
      assert.equal(res.status, 200, `${path} answers 200`);
      assert.equal(res.headers.get('cache-control'), 'no-store', path);
    }
  });

  test('a refusal of a bearer token is no-store too', async () => {
    const res = await get('/accounts/accounts', undefined, 'not-a-token');
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  test('the public product listing stays cacheable', async () => {
    const res = await get('/products/products');
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    assert.notEqual(res.headers.get('cache-control'), 'no-store');
  });
});
