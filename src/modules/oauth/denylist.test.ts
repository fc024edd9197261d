import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp, testDialects } from '../../../test/helpers/test-app.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

/** Poll until `check` is true; fails if `ms` pass first. */
const within = (ms: number, check: () => boolean) => waitFor(check, { timeoutMs: ms });

for (const dialect of testDialects()) {
  describe(`denylist of revoked grants (${dialect})`, () => {
    let a: TestApp;
    let b: TestApp;

    before(async () => {
      a = await createTestApp({ dialect });
      // A second instance on the same store, as when scaled out.
      b = await createTestApp({ dialect, dataDir: a.dataDir, databaseUrl: a.config.databaseUrl });
      await a.app.services.oauth.ready();
      await b.app.services.oauth.ready();
    });
    after(async () => {
      await b?.app.close();
      await a?.close();
    });

    it('reaches another instance within a second', async () => {
      await a.app.services.oauth.grants.revokeGrant('grant-one', 'test');
      assert.equal(a.app.services.oauth.authority.isRevoked({ grantId: 'grant-one', jti: 'x' }), true);
      await within(1000, () => b.app.services.oauth.authority.isRevoked({ grantId: 'grant-one', jti: 'x' }));
    });

    it('denies a revoked token id (client-credentials tokens have no grant) on every instance', async () => {
      await b.app.services.oauth.grants.revokeTokenId('jti-one', 'test');
      await within(1000, () =>
        a.app.services.oauth.authority.isRevoked({ grantId: undefined, jti: 'jti-one' }),
      );
      assert.equal(a.app.services.oauth.authority.isRevoked({ grantId: undefined, jti: 'jti-two' }), false);
    });

    it('is loaded from the store by an instance that starts later', async () => {
      await a.app.services.oauth.grants.revokeGrant('grant-two', 'test');
      const c = await createTestApp({ dialect, dataDir: a.dataDir, databaseUrl: a.config.databaseUrl });
      try {
        await c.app.services.oauth.ready();
        assert.equal(c.app.services.oauth.authority.isRevoked({ grantId: 'grant-two', jti: 'y' }), true);
        assert.equal(c.app.services.oauth.authority.isRevoked({ grantId: 'grant-three', jti: 'y' }), false);
      } finally {
        await c.app.close();
      }
    });

    it('serves the same signing keys from every instance', async () => {
      const [ka, kb] = await Promise.all([
        a.app.services.oauth.authority.jwks(),
        b.app.services.oauth.authority.jwks(),
      ]);
      assert.deepEqual(ka, kb);
      assert.ok(ka.keys.length >= 1);
      // Public halves only: the EC key signs access tokens, the RSA key RS256 ID tokens.
      assert.ok(ka.keys.some((k) => k.alg === 'ES256'));
      assert.ok(ka.keys.every((k) => ['ES256', 'RS256'].includes(String(k.alg)) && k.d === undefined));
    });
  });
}
