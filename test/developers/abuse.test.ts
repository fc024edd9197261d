import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DemoDocument } from '../../src/demo/demo-file.ts';
import { cliActor, type Developers } from '../../src/modules/developers/index.ts';
import type { Principal, UsageEvent } from '../../src/modules/gateway/contract.ts';
import { authorizationCodeFlow } from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer, testDialects } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

type Json = Record<string, unknown>;

/**
 * Abuse detection (DESIGN.md §5.1): only authenticated refusals count, per grant; public clients' keys are
 * never suspended; a confidential client's key is suspended when abuse revoked grants of enough users.
 */
for (const dialect of testDialects()) {
  describe(`${dialect}: abuse detection per grant`, () => {
    let t: DemoServer;
    let demo: DemoDocument;
    let dev: Developers;
    let serial = 0;

    before(async () => {
      t = await startDemoServer({ dialect });
      demo = t.demo;
      dev = t.app.services.developers;
    });
    after(() => t.close());

    const mobile = () => {
      const app = demo.apps.mobile;
      if (!app) throw new Error('no mobile app in demo.json');
      return app;
    };

    const get = (path: string, key: string, token?: string) =>
      fetch(`${demo.baseUrl}${path}`, {
        headers: { 'api-key': key, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });

    const principal = (
      userId: string | undefined,
      grantId: string | undefined,
      clientId: string,
    ): Principal => ({
      subject: userId ?? clientId,
      userId,
      clientId,
      scopes: new Set(['banking/read']),
      grantId,
      tokenId: `jti_${serial++}`,
      expiresAt: Math.floor(t.app.context.clock.now() / 1000) + 300,
    });

    const refusal = (keyId: string, applicationId: string, p: Principal, extra: Partial<UsageEvent> = {}) =>
      ({
        keyId,
        applicationId,
        api: 'accounts',
        operationId: 'getAccount',
        status: 404,
        at: t.app.context.clock.now(),
        reason: 'notEntitled:accountId',
        abuseExempt: false,
        principal: p,
        ...extra,
      }) satisfies UsageEvent;

    /** A fresh application of the fintech organization with an active key. */
    async function newApp(kind: 'web' | 'native' | 'service') {
      const fintech = (await dev.applications.get(mobile().applicationId, cliActor)).organizationId;
      const created = await dev.applications.create(
        {
          organizationId: fintech,
          name: `abuse ${kind} ${serial++}`,
          kind,
          redirectUris:
            kind === 'service'
              ? []
              : kind === 'native'
                ? ['http://127.0.0.1:9/cb']
                : ['https://a.example/cb'],
        },
        cliActor,
      );
      const key = created.apiKey;
      if (!key) throw new Error('no key');
      return { app: created.application, keyId: key.id, key: key.key };
    }

    const keyState = async (keyId: string) => (await dev.apiKeys.get(keyId, cliActor)).state;

    it('keeps the mobile key active through 205 requests with a garbage bearer token', async () => {
      for (let i = 0; i < 205; i++) {
        const answer = await get('/accounts/accounts', mobile().apiKey, `garbage.${i}.token`);
        assert.ok([401, 429].includes(answer.status), String(answer.status));
        await answer.arrayBuffer();
      }
      await dev.usage.flush();
      assert.equal(await keyState(mobile().apiKeyId), 'active');
      assert.equal((await dev.keyVerifier.verify(mobile().apiKey)).ok, true);
    });

    it("revokes only a registered outsider's grant after their authenticated refusals; the mobile key stays active", async () => {
      const password = 'outsider horse battery staple 7';
      await t.app.services.identity.createUser({ username: 'outsider', password, roles: ['customer'] });
      const flow = (username: string, secret: string) =>
        authorizationCodeFlow({
          baseUrl: demo.baseUrl,
          clientId: mobile().clientId,
          redirectUri: mobile().redirectUri,
          username,
          password: secret,
          scope: 'banking/read',
        });
      const outsider = (await flow('outsider', password)).access_token;
      const alice = demo.users.find((u) => u.username === 'alice');
      if (!alice) throw new Error('no alice');
      const aliceToken = (await flow('alice', alice.password)).access_token;
      const target = alice.entitlements.find((e) => e.id !== '*')?.id ?? 'acc_x';

      for (let i = 0; i <= 50; i++) {
        const answer = await get(`/accounts/accounts/${target}`, mobile().apiKey, outsider);
        assert.equal(answer.status, 404);
        await answer.arrayBuffer();
      }
      await waitFor(async () => (await get('/accounts/accounts', mobile().apiKey, outsider)).status === 401, {
        what: "the outsider's grant to be revoked",
      });
      const revoked = await get('/accounts/accounts', mobile().apiKey, outsider);
      assert.equal(revoked.status, 401);
      assert.match(revoked.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      assert.equal((await get('/accounts/accounts', mobile().apiKey, aliceToken)).status, 200);
      assert.equal(await keyState(mobile().apiKeyId), 'active');
      const [entry] = await t.app.context.audit.list({ action: 'grant.revokedForAbuse' });
      assert.equal((entry?.after as Json | undefined)?.apiKeyId, mobile().apiKeyId);
    });

    it('never suspends anything for 6000 rate-limited answers (429s never count)', async () => {
      const { app, keyId } = await newApp('web');
      const p = principal('usr_hammer', 'grt_hammer', app.clientId);
      for (let i = 0; i < 6000; i++) {
        dev.usage.record(
          refusal(keyId, app.id, p, {
            status: 429,
            reason: 'rateLimited:x',
            at: t.app.context.clock.now() + i,
          }),
        );
      }
      await dev.abuse.settled();
      assert.equal(await keyState(keyId), 'active');
      assert.equal(t.app.services.oauth.grants.isRevoked({ grantId: 'grt_hammer', jti: 'x' }), false);
    });

    it("suspends a confidential client's key once abuse revoked grants of 3 users, not at 2", async () => {
      const { app, keyId, key } = await newApp('web');
      const abuseUser = async (n: number) => {
        const p = principal(`usr_abuser${n}_${app.id}`, `grt_abuser${n}_${app.id}`, app.clientId);
        for (let i = 0; i <= 50; i++) dev.usage.record(refusal(keyId, app.id, p));
        await waitFor(async () => t.app.services.oauth.grants.isRevoked({ grantId: p.grantId, jti: 'x' }), {
          what: `grant ${n} revoked`,
        });
      };
      await abuseUser(1);
      await abuseUser(2);
      await dev.abuse.settled();
      assert.equal(await keyState(keyId), 'active');
      await abuseUser(3);
      await waitFor(async () => (await keyState(keyId)) === 'suspended', { what: 'the key to be suspended' });
      assert.deepEqual(await dev.keyVerifier.verify(key), { ok: false, reason: 'suspended' });
    });

    it("never suspends a public client's key: grants are revoked and the institution alerted", async () => {
      const { app, keyId } = await newApp('native');
      for (let n = 1; n <= 3; n++) {
        const p = principal(`usr_pub${n}_${app.id}`, `grt_pub${n}_${app.id}`, app.clientId);
        for (let i = 0; i <= 50; i++) dev.usage.record(refusal(keyId, app.id, p));
        await waitFor(async () => t.app.services.oauth.grants.isRevoked({ grantId: p.grantId, jti: 'x' }));
      }
      await waitFor(
        async () => (await t.app.context.audit.list({ action: 'abuse.alert', targetId: app.id })).length > 0,
        { what: 'the alert' },
      );
      assert.equal(await keyState(keyId), 'active');
    });

    it("counts another client's token (row 6) against that token's grant, never against the key", async () => {
      const { app, keyId } = await newApp('web');
      for (let n = 1; n <= 3; n++) {
        const p = principal(`usr_row6${n}`, `grt_row6${n}_${app.id}`, 'cli_someoneElse');
        for (let i = 0; i <= 50; i++)
          dev.usage.record(refusal(keyId, app.id, p, { status: 403, reason: 'wrongClient:cli_someoneElse' }));
        await waitFor(async () => t.app.services.oauth.grants.isRevoked({ grantId: p.grantId, jti: 'x' }));
      }
      await dev.abuse.settled();
      assert.equal(await keyState(keyId), 'active');
    });

    it('suspends a confidential key after more than 200 refusals without user tokens, not at 200', async () => {
      const { app, keyId } = await newApp('service');
      const p = principal(undefined, undefined, app.clientId);
      for (let i = 0; i < 200; i++)
        dev.usage.record(refusal(keyId, app.id, p, { status: 403, reason: 'insufficientScope:data/read' }));
      await dev.abuse.settled();
      assert.equal(await keyState(keyId), 'active');
      dev.usage.record(refusal(keyId, app.id, p, { status: 403, reason: 'insufficientScope:data/read' }));
      await waitFor(async () => (await keyState(keyId)) === 'suspended', { what: 'the key to be suspended' });
      assert.match(
        (await dev.apiKeys.get(keyId, cliActor)).stateReason ?? '',
        /201 refused answers without user tokens/,
      );
    });

    it('leaves keys on exempt plans alone', async () => {
      const loadTest = demo.apps.loadTest;
      if (!loadTest) throw new Error('no loadTest app');
      const app = await dev.applications.get(loadTest.applicationId, cliActor);
      const p = principal(undefined, undefined, app.clientId);
      for (let i = 0; i < 300; i++)
        dev.usage.record(refusal(loadTest.apiKeyId, app.id, p, { status: 404, abuseExempt: false }));
      await dev.abuse.settled();
      assert.equal(await keyState(loadTest.apiKeyId), 'active');
    });
  });
}
