import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@strongroom/client';
import type { DemoApp, DemoDocument } from '../../src/demo/demo-file.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { demoApp, readDemo } from './helpers.ts';

// This file never trusts the local CA process-wide (no trustCa): only the client's `ca` option does.
describe('@strongroom/client trusts a custom CA only through its ca option', () => {
  let t: TestApp;
  let demo: DemoDocument;
  let products: DemoApp;
  before(async () => {
    t = await createTestApp({ args: ['--demo'], listen: true });
    demo = readDemo(t);
    products = demoApp(demo, 'mobile');
  });
  after(() => t.close());

  const client = (ca?: string) =>
    createClient({
      baseUrl: demo.baseUrl,
      apiKey: products.apiKey,
      clientId: products.clientId,
      redirectUri: products.redirectUri,
      ...(ca ? { ca } : {}),
    });

  it("with the demo's tls/ca.pem it calls the API and the authorization server", async () => {
    const sdk = client(readFileSync(demo.caCertFile ?? '', 'utf8'));
    const { data, response } = await sdk.GET('/products/products');
    assert.equal(response.status, 200);
    assert.ok((data?.items.length ?? 0) > 0);
    const url = new URL(await sdk.authorizationUrl());
    assert.equal(url.origin + url.pathname, `${demo.baseUrl}/auth/oauth2/authorize`);
    await sdk.close();
  });

  it('without it the connection is refused (the certificate is not trusted)', async () => {
    await assert.rejects(client().GET('/products/products'), (error: Error) => {
      const cause = (error as { cause?: { code?: string } }).cause;
      assert.match(String(cause?.code), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
      return true;
    });
  });

  it('refuses a file name where PEM text belongs', async () => {
    await assert.rejects(client('/etc/ssl/ca.pem').GET('/products/products'), /ca must be PEM text/);
  });
});
