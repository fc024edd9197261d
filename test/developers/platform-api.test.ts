import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DemoDocument } from '../../src/demo/demo-file.ts';
import { ABUSE_SETTING, cliActor } from '../../src/modules/developers/index.ts';
import { normalized } from '../helpers/assertions.ts';
import { authorizationCodeFlow } from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer, testDialects } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

type Json = Record<string, unknown>;

/** Answers compared across keys: their rate-limit headers differ too. */
const comparable = (response: Response, body: Json) =>
  normalized(response, body, { ignoreHeaders: ['ratelimit', 'ratelimit-policy'] });

for (const dialect of testDialects()) {
  describe(`${dialect}: platform APIs through the gateway`, () => {
    let t: DemoServer;
    let demo: DemoDocument;
    let baseUrl: string;
    let backOfficeKey: string;
    const tokens: Record<string, string> = {};
    /** Every plaintext key and secret the tests saw, to prove none reaches a log line. */
    const canaries: string[] = [];

    const call = async (
      method: string,
      path: string,
      options: { token?: string; key?: string; body?: unknown; headers?: Record<string, string> } = {},
    ) => {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(options.key !== '' ? { 'api-key': options.key ?? backOfficeKey } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const text = await response.text();
      const body = (text ? JSON.parse(text) : {}) as Json;
      for (const value of [body.key, body.clientSecret, (body.apiKey as Json | undefined)?.key]) {
        if (typeof value === 'string') canaries.push(value);
      }
      return { response, status: response.status, body };
    };

    before(async () => {
      t = await startDemoServer({ dialect });
      demo = t.demo;
      baseUrl = demo.baseUrl;
      const backOffice = demo.apps.backOffice;
      if (!backOffice) throw new Error('no backOffice app in demo.json');
      backOfficeKey = backOffice.apiKey;
      const login = async (username: string, password: string, totpSecret?: string) =>
        (
          await authorizationCodeFlow({
            baseUrl,
            clientId: backOffice.clientId,
            clientSecret: backOffice.clientSecret,
            redirectUri: backOffice.redirectUri,
            username,
            password,
            totpSecret,
            scope: username === 'fiona' ? 'admin/full admin/read admin/write' : 'admin/read admin/write',
          })
        ).access_token;
      for (const name of ['ivan', 'fiona']) {
        const user = demo.users.find((u) => u.username === name);
        if (!user) throw new Error(`no ${name} in demo.json`);
        tokens[name] = await login(name, user.password, user.totpSecret);
      }
      // A self-registered developer with an organization of their own.
      const password = 'correct horse battery staple 42';
      const dana = await t.app.services.identity.createUser({
        username: 'devon',
        password,
        roles: ['developer'],
      });
      tokens.devon = await login('devon', password);
      await t.app.services.identity.createUser({ username: 'prober', password, roles: ['developer'] });
      tokens.prober = await login('prober', password);
      const dev = t.app.services.developers;
      await dev.organizations.create(
        { name: 'Devon Apps', owner: { userId: dana.id, displayName: 'devon' } },
        {
          type: 'user',
          id: dana.id,
          institution: false,
        },
      );
    });
    after(() => t.close());

    const devonOrg = async () => {
      const orgs = await t.app.services.developers.organizations.list({
        type: 'cli',
        id: null,
        institution: true,
      });
      const org = orgs.find((o) => o.name === 'Devon Apps');
      if (!org) throw new Error('no org');
      return org.id;
    };
    const ivanApp = () => demo.apps.mobile?.applicationId ?? '';

    it('seeds the demo applications and keeps their redirect URIs on the real public URL', async () => {
      assert.equal(demo.apps.backOffice?.redirectUri, `${baseUrl}/demo/callback`);
      assert.equal(demo.apps.loadTest?.redirectUri, `${baseUrl}/demo/loadtest-callback`);
      assert.equal(demo.apps.mobile?.redirectUri, 'http://127.0.0.1:8765/callback');
      assert.equal(demo.apps.mobile?.clientSecret, undefined);
      const client = await t.app.services.oauth.clients.get(demo.apps.backOffice?.clientId ?? '');
      assert.deepEqual(client?.redirectUris, [`${baseUrl}/demo/callback`]);
      assert.equal(client?.firstParty, true);
      for (const name of ['backOffice', 'mobile', 'loadTest']) {
        const verified = await t.app.services.developers.keyVerifier.verify(demo.apps[name]?.apiKey ?? '');
        assert.equal(verified.ok, true, name);
        assert.equal(verified.ok && verified.key.plan.name, name === 'loadTest' ? 'loadTest' : 'standard');
      }
    });

    it("lists only the caller's organization's applications; the institution sees all", async () => {
      const ivan = await call('GET', '/clientApplications/clientApplications', { token: tokens.ivan });
      assert.equal(ivan.status, 200);
      const names = (ivan.body.items as Json[]).map((a) => a.name).sort();
      // backOffice is first-party: the institution's own, invisible to the fintech's IT manager.
      assert.deepEqual(names, ['loadTest', 'mobile']);
      const devon = await call('GET', '/clientApplications/clientApplications', { token: tokens.devon });
      assert.deepEqual(devon.body.items, []);
      const fiona = await call('GET', '/clientApplications/clientApplications?limit=1000', {
        token: tokens.fiona,
      });
      assert.ok((fiona.body.items as Json[]).length >= 3);
    });

    it("keeps the first-party backOffice app the institution's: the IT manager gets 404 for every change, the FI administrator changes it", async () => {
      const backOffice = demo.apps.backOffice?.applicationId ?? '';
      const path = `/clientApplications/clientApplications/${backOffice}`;
      const attacker = [`${baseUrl}/demo/callback`, 'https://attacker.example/cb'];
      const unknown = await call('PATCH', '/clientApplications/clientApplications/app_doesNotExist000000', {
        token: tokens.ivan,
        body: { redirectUris: attacker },
      });
      for (const [method, target, body] of [
        ['GET', path, undefined],
        ['PATCH', path, { redirectUris: attacker }],
        ['PATCH', path, { scopes: ['banking/read'] }],
        ['POST', `${path}/secrets`, {}],
        ['DELETE', path, undefined],
        ['GET', `/apiKeys/apiKeys?clientApplication=${backOffice}`, undefined],
        ['GET', `/apiKeys/apiKeys/${demo.apps.backOffice?.apiKeyId}`, undefined],
        ['POST', `/apiKeys/apiKeys/${demo.apps.backOffice?.apiKeyId}/deactivate`, {}],
        ['POST', '/apiKeys/apiKeys', { clientApplicationId: backOffice }],
      ] as const) {
        const answer = await call(method, target, { token: tokens.ivan, body });
        assert.equal(answer.status, 404, `${method} ${target}`);
        if (method === 'PATCH')
          assert.deepEqual(
            comparable(answer.response, answer.body),
            comparable(unknown.response, unknown.body),
          );
      }
      const keys = await call('GET', '/apiKeys/apiKeys?limit=1000', { token: tokens.ivan });
      assert.ok(!(keys.body.items as Json[]).some((k) => k.clientApplicationId === backOffice));
      const client = await t.app.services.oauth.clients.get(demo.apps.backOffice?.clientId ?? '');
      assert.deepEqual(client?.redirectUris, [`${baseUrl}/demo/callback`]);

      const extra = [`${baseUrl}/demo/callback`, 'https://back-office.example/cb'];
      const changed = await call('PATCH', path, { token: tokens.fiona, body: { redirectUris: extra } });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      assert.deepEqual(changed.body.redirectUris, extra);
      const rotated = await call('POST', `${path}/secrets`, { token: tokens.fiona, body: {} });
      assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
      const restored = await call('PATCH', path, {
        token: tokens.fiona,
        body: { redirectUris: [`${baseUrl}/demo/callback`] },
      });
      assert.equal(restored.status, 200);
    });

    it('registers an application and shows its secret and key once', async () => {
      const created = await call('POST', '/clientApplications/clientApplications', {
        token: tokens.devon,
        body: {
          organizationId: await devonOrg(),
          name: 'Devon web',
          kind: 'web',
          redirectUris: ['https://devon.example/cb'],
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.response.headers.get('cache-control'), 'no-store');
      assert.equal(created.body.environment, 'sandbox');
      assert.equal(created.body.state, 'active');
      const secret = created.body.clientSecret as string;
      const key = (created.body.apiKey as Json).key as string;
      assert.ok(secret && key.startsWith('srk_test_'));
      const read = await call('GET', `/clientApplications/clientApplications/${created.body.id}`, {
        token: tokens.devon,
      });
      assert.equal(read.status, 200);
      assert.match(read.response.headers.get('etag') ?? '', /^"v1"$/);
      const keys = await call('GET', `/apiKeys/apiKeys?clientApplication=${created.body.id}`, {
        token: tokens.devon,
      });
      const everything = JSON.stringify([read.body, keys.body]);
      assert.ok(!everything.includes(secret) && !everything.includes(key));
      assert.ok(!/secretHash|secret_hash|hash/i.test(everything));
    });

    it("answers 404 for another organization's application, identical to an unknown id", async () => {
      const foreign = await call('GET', `/clientApplications/clientApplications/${ivanApp()}`, {
        token: tokens.devon,
      });
      const unknown = await call('GET', '/clientApplications/clientApplications/app_doesNotExist000000', {
        token: tokens.devon,
      });
      assert.equal(foreign.status, 404);
      assert.deepEqual(
        comparable(foreign.response, foreign.body),
        comparable(unknown.response, unknown.body),
      );
      for (const [method, path, body] of [
        ['PATCH', `/clientApplications/clientApplications/${ivanApp()}`, { name: 'pwned' }],
        ['DELETE', `/clientApplications/clientApplications/${ivanApp()}`, undefined],
        ['POST', `/clientApplications/clientApplications/${ivanApp()}/secrets`, {}],
        ['GET', `/apiKeys/apiKeys/${demo.apps.mobile?.apiKeyId}`, undefined],
        ['POST', `/apiKeys/apiKeys/${demo.apps.mobile?.apiKeyId}/deactivate`, {}],
        ['POST', '/apiKeys/apiKeys', { clientApplicationId: ivanApp() }],
      ] as const) {
        const answer = await call(method, path, { token: tokens.devon, body });
        assert.equal(answer.status, 404, `${method} ${path}`);
      }
      const still = await call('GET', `/clientApplications/clientApplications/${ivanApp()}`, {
        token: tokens.ivan,
      });
      assert.equal(still.body.name, 'mobile');
      assert.equal(still.body.state, 'active');
    });

    it('rejects mass assignment by a developer with 400 and changes nothing', async () => {
      const path = `/clientApplications/clientApplications/${ivanApp()}`;
      const before = await call('GET', path, { token: tokens.ivan });
      for (const body of [
        { state: 'suspended' },
        { ratePlan: 'loadTest' },
        { environment: 'sandbox' },
        { organizationId: 'org_other00000000000000' },
        { status: 'approved', rateLimit: 1e9, ownerId: 'u2', scopes: ['admin'] },
        { name: 'renamed', clientId: 'cli_other' },
      ]) {
        const answer = await call('PATCH', path, { token: tokens.ivan, body });
        assert.equal(answer.status, 400, JSON.stringify(body));
        assert.ok(Array.isArray(answer.body.errors));
      }
      const afterRead = await call('GET', path, { token: tokens.ivan });
      assert.deepEqual(afterRead.body, before.body);
    });

    it('validates changed settings as registration does: 422 for a non-canonical redirect URI or a foreign API', async () => {
      const path = `/clientApplications/clientApplications/${ivanApp()}`;
      const before = await call('GET', path, { token: tokens.ivan });
      for (const [body, field] of [
        [{ redirectUris: ['HTTPS://X'] }, 'redirectUris.0'],
        [{ apis: ['admin'] }, 'apis.0'],
        [{ apis: ['accounts', 'noSuchApi'] }, 'apis.1'],
      ] as const) {
        const answer = await call('PATCH', path, { token: tokens.ivan, body });
        assert.equal(answer.status, 422, JSON.stringify(body));
        assert.match(answer.response.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.deepEqual(
          (answer.body.errors as Json[]).map((e) => e.name),
          [field],
        );
      }
      const registered = await call('POST', '/clientApplications/clientApplications', {
        token: tokens.devon,
        body: { organizationId: await devonOrg(), name: 'Upper', kind: 'web', redirectUris: ['HTTPS://X'] },
      });
      assert.equal(registered.status, 422);
      assert.deepEqual(await call('GET', path, { token: tokens.ivan }).then((r) => r.body), before.body);
    });

    it("queues a developer's redirect-URI change of a production app (202, pendingChanges) until the institution approves", async () => {
      const path = `/clientApplications/clientApplications/${ivanApp()}`;
      const before = await call('GET', path, { token: tokens.ivan });
      const wanted = ['http://127.0.0.1:8765/callback', 'http://127.0.0.1:8766/callback'];
      const asked = await call('PATCH', path, {
        token: tokens.ivan,
        body: { redirectUris: wanted, description: 'now with two callbacks' },
      });
      assert.equal(asked.status, 202, JSON.stringify(asked.body));
      assert.deepEqual(asked.body.redirectUris, before.body.redirectUris);
      assert.equal(asked.body.description, 'now with two callbacks');
      const pending = asked.body.pendingChanges as Json[];
      assert.equal(pending.length, 1);
      assert.equal(pending[0]?.kind, 'redirectUris');
      assert.deepEqual(pending[0]?.requested, wanted);
      const client = await t.app.services.oauth.clients.get(demo.apps.mobile?.clientId ?? '');
      assert.deepEqual(client?.redirectUris, before.body.redirectUris);

      const dev = t.app.services.developers;
      await dev.requests.approve(pending[0]?.requestId as string, cliActor, 'checked with the fintech');
      const approved = await call('GET', path, { token: tokens.ivan });
      assert.deepEqual(approved.body.redirectUris, wanted);
      assert.deepEqual(approved.body.pendingChanges, []);
      assert.deepEqual(
        (await t.app.services.oauth.clients.get(demo.apps.mobile?.clientId ?? ''))?.redirectUris,
        wanted,
      );

      // The FI administrator's own change applies at once.
      const restored = await call('PATCH', path, {
        token: tokens.fiona,
        body: { redirectUris: before.body.redirectUris },
      });
      assert.equal(restored.status, 200);
      assert.deepEqual(restored.body.redirectUris, before.body.redirectUris);
    });

    it('asks for scopes beyond the default set with 202 and leaves scopes unchanged; rejection drops the request', async () => {
      const path = `/clientApplications/clientApplications/${ivanApp()}`;
      const before = await call('GET', path, { token: tokens.ivan });
      const asked = await call('PATCH', path, {
        token: tokens.ivan,
        body: { scopes: [...(before.body.scopes as string[]), 'admin/read'] },
      });
      assert.equal(asked.status, 202);
      assert.deepEqual(asked.body.scopes, before.body.scopes);
      assert.deepEqual(asked.body.requestedScopes, ['admin/read']);
      const [request] = asked.body.pendingChanges as Json[];
      assert.equal(request?.kind, 'scope');
      await t.app.services.developers.requests.reject(request?.requestId as string, cliActor, 'not needed');
      const after = await call('GET', path, { token: tokens.ivan });
      assert.deepEqual(after.body.scopes, before.body.scopes);
      assert.deepEqual(after.body.pendingChanges, []);
      assert.deepEqual(after.body.requestedScopes, []);
    });

    it("changes a sandbox app's redirect URIs at once", async () => {
      const created = await call('POST', '/clientApplications/clientApplications', {
        token: tokens.devon,
        body: {
          organizationId: await devonOrg(),
          name: 'Devon sandbox',
          kind: 'web',
          redirectUris: ['https://d.example/cb'],
        },
      });
      const path = `/clientApplications/clientApplications/${created.body.id}`;
      const changed = await call('PATCH', path, {
        token: tokens.devon,
        body: { redirectUris: ['https://d.example/cb2'] },
      });
      assert.equal(changed.status, 200);
      assert.deepEqual(changed.body.redirectUris, ['https://d.example/cb2']);
      assert.deepEqual(changed.body.pendingChanges, []);
    });

    it('lets the institution change privileged fields', async () => {
      const created = await call('POST', '/clientApplications/clientApplications', {
        token: tokens.devon,
        body: {
          organizationId: await devonOrg(),
          name: 'Devon spa',
          kind: 'spa',
          redirectUris: ['https://spa.example/cb'],
          corsOrigins: ['https://spa.example'],
        },
      });
      const path = `/clientApplications/clientApplications/${created.body.id}`;
      const changed = await call('PATCH', path, {
        token: tokens.fiona,
        body: { environment: 'production', ratePlan: 'standard' },
      });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      assert.equal(changed.body.environment, 'production');
      const stale = await call('PATCH', path, {
        token: tokens.devon,
        body: { name: 'x' },
        headers: { 'if-match': '"v1"' },
      });
      assert.equal(stale.status, 412);
    });

    it('issues production keys pending; a developer cannot approve them (403), the FI administrator can', async () => {
      const created = await call('POST', '/apiKeys/apiKeys', {
        token: tokens.ivan,
        body: { clientApplicationId: ivanApp(), label: 'second' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.state, 'pending');
      const key = created.body.key as string;
      assert.match(key, /^srk_live_/);
      const pending = await call('GET', '/apiKeys/', { key });
      assert.equal(pending.status, 403);
      const denied = await call('POST', `/apiKeys/apiKeys/${created.body.id}/activate`, {
        token: tokens.ivan,
        body: {},
      });
      assert.equal(denied.status, 403);
      assert.equal(
        (await call('GET', `/apiKeys/apiKeys/${created.body.id}`, { token: tokens.ivan })).body.state,
        'pending',
      );
      const approved = await call('POST', `/apiKeys/apiKeys/${created.body.id}/activate`, {
        token: tokens.fiona,
        body: { reason: 'reviewed' },
      });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.state, 'active');
      assert.equal((await call('GET', '/apiKeys/', { key })).status, 200);
    });

    it('revocation takes effect on the very next call, and revoked/expired/unknown/malformed keys answer identically', async () => {
      const app = ivanApp();
      const issue = async () => {
        const created = await call('POST', '/apiKeys/apiKeys', {
          token: tokens.fiona,
          body: { clientApplicationId: app },
        });
        await call('POST', `/apiKeys/apiKeys/${created.body.id}/activate`, { token: tokens.fiona, body: {} });
        return { id: created.body.id as string, key: created.body.key as string };
      };
      const revokedKey = await issue();
      assert.equal((await call('GET', '/apiKeys/', { key: revokedKey.key })).status, 200);
      const revoked = await call('POST', `/apiKeys/apiKeys/${revokedKey.id}/deactivate`, {
        token: tokens.ivan,
        body: { reason: 'leaked' },
      });
      assert.equal(revoked.status, 200);
      assert.equal(revoked.body.state, 'revoked');
      const expiredKey = await issue();
      const rotated = await call('POST', `/apiKeys/apiKeys/${expiredKey.id}/rotate`, {
        token: tokens.ivan,
        body: { overlapSeconds: 0 },
      });
      assert.equal(rotated.status, 201);
      assert.equal((await call('GET', '/apiKeys/', { key: rotated.body.key as string })).status, 200);
      const answers = [];
      for (const key of [
        revokedKey.key,
        expiredKey.key,
        `srk_live_${'A'.repeat(20)}_${'b'.repeat(38)}`,
        'garbage',
      ]) {
        const answer = await call('GET', '/apiKeys/', { key });
        assert.equal(answer.status, 401);
        assert.equal(answer.response.headers.get('www-authenticate'), 'APIKey realm="strongroom"');
        answers.push(comparable(answer.response, answer.body));
      }
      for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0]);
    });

    it('meters every answer of a key per operation and status', async () => {
      const created = await call('POST', '/apiKeys/apiKeys', {
        token: tokens.fiona,
        body: { clientApplicationId: ivanApp() },
      });
      await call('POST', `/apiKeys/apiKeys/${created.body.id}/activate`, { token: tokens.fiona, body: {} });
      const key = created.body.key as string;
      for (let i = 0; i < 7; i++) assert.equal((await call('GET', '/apiKeys/', { key })).status, 200);
      for (let i = 0; i < 3; i++) assert.equal((await call('GET', '/apiKeys/apiKeys', { key })).status, 401);
      const usage = await call('GET', `/apiKeys/apiKeys/${created.body.id}/usage?granularity=minute`, {
        token: tokens.ivan,
      });
      assert.equal(usage.status, 200, JSON.stringify(usage.body));
      const items = usage.body.items as { operationId: string; status: number; count: number }[];
      const count = (status: number) =>
        items.filter((i) => i.status === status).reduce((s, i) => s + i.count, 0);
      assert.equal(count(200), 7);
      assert.equal(count(401), 3);
      assert.equal(usage.body.total, 10);
    });

    it('revokes a grant after more authenticated refusals than the threshold, not before; the key stays active', async () => {
      await t.app.context.settings.set(ABUSE_SETTING, { grantRefusalsPerMinute: 5 });
      await t.app.services.developers.abuse.reloadSettings();
      for (let i = 0; i < 5; i++) {
        const probe = await call('GET', `/clientApplications/clientApplications/app_probe${i}`, {
          token: tokens.prober,
        });
        assert.equal(probe.status, 404, JSON.stringify(probe.body));
      }
      await t.app.services.developers.abuse.settled();
      assert.equal(
        (await call('GET', '/clientApplications/clientApplications', { token: tokens.prober })).status,
        200,
      );
      const sixth = await call('GET', '/clientApplications/clientApplications/app_probe6', {
        token: tokens.prober,
      });
      assert.equal(sixth.status, 404);
      // The refusal is counted as its answer is logged; the revocation then takes effect at once.
      await waitFor(
        async () =>
          (await call('GET', '/clientApplications/clientApplications', { token: tokens.prober })).status ===
          401,
        { what: "the prober's grant to be revoked" },
      );
      assert.equal((await call('GET', '/apiKeys/')).status, 200);
      const key = await call('GET', `/apiKeys/apiKeys/${demo.apps.backOffice?.apiKeyId}`, {
        token: tokens.fiona,
      });
      assert.equal(key.body.state, 'active');
      const audit = await t.app.context.audit.list({ action: 'grant.revokedForAbuse' });
      assert.equal(audit.length, 1);
      assert.match(String(audit[0]?.reason), /automatic: 6 refused answers/);
      await t.app.context.settings.set(ABUSE_SETTING, {});
      await t.app.services.developers.abuse.reloadSettings();
    });

    it('never writes a plaintext key or secret to the logs', async () => {
      const all = [
        ...canaries,
        ...Object.values(demo.apps).flatMap((a) =>
          [a?.apiKey, a?.clientSecret].filter((v): v is string => !!v),
        ),
      ];
      assert.ok(canaries.length >= 8);
      const logs = t.logs.text();
      assert.ok(logs.length > 0);
      for (const secret of all) assert.ok(!logs.includes(secret), 'a secret reached the logs');
    });
  });
}
