import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliActor, type Developers } from '../../src/modules/developers/index.ts';
import { rejectsWith } from '../helpers/assertions.ts';
import { createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';
import { userActor } from './helpers.ts';

for (const dialect of testDialects()) {
  describe(`${dialect}: client applications`, () => {
    let t: TestApp;
    let dev: Developers;
    const owner = userActor('usr_appsOwner00000000001');
    const developer = userActor('usr_appsDeveloper000001');
    let orgId: string;

    before(async () => {
      t = await createTestApp({ dialect, args: ['--demo'] });
      dev = t.app.services.developers;
      const org = await dev.organizations.create(
        { name: 'Apps Org', owner: { userId: owner.id ?? '', displayName: 'apps-owner' } },
        cliActor,
      );
      orgId = org.id;
      await dev.organizations.addMember(
        orgId,
        { userId: developer.id ?? '', displayName: 'dev', role: 'developer' },
        owner,
      );
    });
    after(() => t.close());

    const register = (name: string, extra: Record<string, unknown> = {}) =>
      dev.applications.create(
        {
          organizationId: orgId,
          name,
          kind: 'web',
          redirectUris: ['https://app.example/callback'],
          ...extra,
        },
        developer,
      );

    it('registers a web application as an active sandbox app with an OAuth client, a secret and an active key', async () => {
      const created = await register('web app');
      assert.equal(created.application.environment, 'sandbox');
      assert.equal(created.application.state, 'active');
      assert.equal(created.application.ratePlan, 'standard');
      assert.equal(created.application.tokenEndpointAuthMethod, 'client_secret_basic');
      assert.ok(created.clientSecret && created.clientSecret.length >= 22);
      assert.equal(created.apiKey?.state, 'active');
      const client = await t.app.services.oauth.clients.get(created.application.clientId);
      assert.equal(client?.applicationId, created.application.id);
      // A sandbox app also gets the API reference's redirect page (DESIGN.md §5.4).
      assert.deepEqual(client?.redirectUris, [
        'https://app.example/callback',
        `${t.app.context.baseUrl}/portal/oauth2-redirect`,
      ]);
      const verified = await dev.keyVerifier.verify(created.apiKey?.key ?? '');
      assert.equal(verified.ok && verified.key.clientId, created.application.clientId);
    });

    it('registers a native application as a public client without a secret', async () => {
      const created = await dev.applications.create(
        {
          organizationId: orgId,
          name: 'native app',
          kind: 'native',
          redirectUris: ['http://127.0.0.1:9999/cb'],
        },
        developer,
      );
      assert.equal(created.application.tokenEndpointAuthMethod, 'none');
      assert.equal(created.clientSecret, undefined);
      await assert.rejects(
        dev.applications.rotateSecret(created.application.id, 0, developer),
        rejectsWith(409),
      );
    });

    it('rejects redirect URIs that are not exact https (or native loopback) URIs', async () => {
      for (const uri of [
        'http://app.example/cb',
        'https://app.example/cb#frag',
        'not a uri',
        'https://u:p@app.example/',
      ]) {
        await assert.rejects(
          register('bad redirect', { redirectUris: [uri] }),
          rejectsWith(422, 'redirectUris.0'),
        );
      }
      await assert.rejects(register('no redirect', { redirectUris: [] }), rejectsWith(422, 'redirectUris'));
    });

    it('rejects privileged fields from a developer at registration (400) and registers nothing', async () => {
      const before = (await dev.applications.list({ organizationId: orgId }, owner)).length;
      await assert.rejects(
        register('sneaky', { environment: 'production' }),
        rejectsWith(400, 'environment'),
      );
      await assert.rejects(register('sneaky', { ratePlan: 'loadTest' }), rejectsWith(400, 'ratePlan'));
      await assert.rejects(register('sneaky', { state: 'active' }), rejectsWith(400, 'state'));
      assert.equal((await dev.applications.list({ organizationId: orgId }, owner)).length, before);
    });

    it('turns scopes beyond the default set into a queued request the institution approves', async () => {
      const created = await register('wants admin', { scopes: ['banking/read', 'admin/read'] });
      assert.deepEqual(created.application.scopes, ['banking/read']);
      assert.deepEqual(created.application.requestedScopes, ['admin/read']);
      const [pending] = created.application.pendingChanges;
      assert.equal(pending?.kind, 'scope');
      assert.deepEqual(pending?.requested, ['admin/read']);
      const approved = await dev.requests.approve(pending?.requestId ?? '', cliActor, 'ok');
      assert.equal(approved.state, 'approved');
      const app = await dev.applications.view(await dev.applications.get(created.application.id, owner));
      assert.deepEqual(app.scopes, ['banking/read', 'admin/read']);
      assert.deepEqual(app.requestedScopes, []);
      assert.deepEqual(app.pendingChanges, []);
      assert.deepEqual((await t.app.services.oauth.clients.get(app.clientId))?.allowedScopes, [
        'banking/read',
        'admin/read',
      ]);
      const resubmitted = await dev.applications.change(
        created.application.id,
        { scopes: ['banking/read', 'admin/read', 'data/read'] },
        developer,
      );
      assert.deepEqual(
        resubmitted.application.scopes,
        ['banking/read', 'admin/read'],
        'scopes stay unchanged',
      );
      assert.deepEqual(
        resubmitted.requests.map((r) => [r.kind, r.requested]),
        [['scope', ['data/read']]],
      );
      await assert.rejects(dev.requests.approve(pending?.requestId ?? '', cliActor), rejectsWith(409));
      await assert.rejects(
        dev.requests.approve(resubmitted.requests[0]?.id ?? '', developer),
        rejectsWith(403),
      );
      const entries = await t.app.context.audit.list({ targetId: created.application.id });
      assert.ok(entries.some((e) => e.action === 'changeRequest.approved'));
    });

    it('rejects a developer PATCH of state, plan, environment or owner (400) and changes nothing', async () => {
      const created = await register('mass assignment');
      const id = created.application.id;
      const snapshot = JSON.stringify(await dev.applications.get(id, developer));
      for (const patch of [
        { state: 'suspended' as const },
        { ratePlan: 'loadTest' },
        { environment: 'production' as const },
        { organizationId: 'org_other' },
        { name: 'renamed', state: 'suspended' as const },
      ]) {
        await assert.rejects(dev.applications.update(id, patch, developer), rejectsWith(400));
      }
      assert.equal(JSON.stringify(await dev.applications.get(id, developer)), snapshot);
    });

    it('refuses an environment outside sandbox/production (400 naming the field) and stores nothing', async () => {
      const created = await register('bogus environment');
      const id = created.application.id;
      await assert.rejects(
        dev.applications.update(id, { environment: 'bogus' as never }, cliActor),
        rejectsWith(400, 'environment'),
      );
      const stored = await dev.applications.get(id, cliActor);
      assert.equal(stored.environment, 'sandbox');
      assert.equal(stored.version, 1);
    });

    it('refuses an unknown state with 400 (not a 409 transition conflict), by update or setState', async () => {
      const created = await register('bogus state');
      const id = created.application.id;
      await assert.rejects(
        dev.applications.update(id, { state: 'archived' as never }, cliActor),
        rejectsWith(400, 'state'),
      );
      await assert.rejects(
        dev.applications.setState(id, 'archived' as never, 'x', cliActor),
        rejectsWith(400, 'state'),
      );
      assert.equal((await dev.applications.get(id, cliActor)).state, 'active');
    });

    it('refuses a registration whose kind, environment, state or auth method is not one of its values', async () => {
      const base = {
        organizationId: orgId,
        name: 'bogus registration',
        kind: 'web' as const,
        redirectUris: ['https://app.example/callback'],
      };
      for (const [field, value] of [
        ['kind', 'desktop'],
        ['environment', 'staging'],
        ['state', 'archived'],
        ['tokenEndpointAuthMethod', 'client_secret_jwt'],
      ] as const) {
        await assert.rejects(
          dev.applications.create({ ...base, [field]: value } as never, cliActor),
          rejectsWith(400, field),
        );
      }
      const names = (await dev.applications.list({ organizationId: orgId }, cliActor)).map((a) => a.name);
      assert.ok(!names.includes('bogus registration'));
    });

    it('refuses an unknown member role (400 naming the field)', async () => {
      await assert.rejects(
        dev.organizations.addMember(
          orgId,
          { userId: 'usr_x', displayName: 'x', role: 'guest' as never },
          owner,
        ),
        rejectsWith(400, 'role'),
      );
      await assert.rejects(
        dev.organizations.invite(orgId, 'guest' as never, owner),
        rejectsWith(400, 'role'),
      );
      const members = await dev.organizations.members(orgId, owner);
      assert.ok(!members.some((m) => m.userId === 'usr_x'));
    });

    it('lets a developer change developer fields, with optimistic concurrency', async () => {
      const created = await register('renamable');
      const updated = await dev.applications.update(
        created.application.id,
        { name: 'renamed', description: 'x' },
        developer,
        {
          ifMatchVersion: 1,
        },
      );
      assert.equal(updated.name, 'renamed');
      assert.equal(updated.version, 2);
      await assert.rejects(
        dev.applications.update(created.application.id, { name: 'again' }, developer, { ifMatchVersion: 1 }),
        rejectsWith(412),
      );
    });

    it("hides other organizations' applications (404) and lists only the caller's", async () => {
      const created = await register('private app');
      const stranger = userActor('usr_strangerApps0000001');
      await assert.rejects(dev.applications.get(created.application.id, stranger), rejectsWith(404));
      await assert.rejects(
        dev.applications.update(created.application.id, { name: 'x' }, stranger),
        rejectsWith(404),
      );
      await assert.rejects(
        dev.applications.setState(created.application.id, 'deleted', 'x', stranger),
        rejectsWith(404),
      );
      await assert.rejects(
        dev.applications.rotateSecret(created.application.id, 0, stranger),
        rejectsWith(404),
      );
      assert.deepEqual(await dev.applications.list({}, stranger), []);
      assert.deepEqual(await dev.applications.list({ organizationId: orgId }, stranger), []);
      const all = await dev.applications.list({}, cliActor);
      assert.ok(all.some((a) => a.id === created.application.id));
      assert.ok(all.some((a) => a.name === 'backOffice'));
    });

    it("suspension refuses the app's keys (403 reason) and disables its client; reinstatement restores both", async () => {
      const created = await register('to suspend');
      const key = created.apiKey?.key ?? '';
      await assert.rejects(
        dev.applications.setState(created.application.id, 'suspended', 'x', owner),
        rejectsWith(403),
      );
      await dev.applications.setState(created.application.id, 'suspended', 'terms violated', cliActor);
      assert.deepEqual(await dev.keyVerifier.verify(key), { ok: false, reason: 'applicationSuspended' });
      assert.equal((await t.app.services.oauth.clients.get(created.application.clientId))?.enabled, false);
      await dev.applications.setState(created.application.id, 'active', 'resolved', cliActor);
      assert.equal((await dev.keyVerifier.verify(key)).ok, true);
      assert.equal((await t.app.services.oauth.clients.get(created.application.clientId))?.enabled, true);
    });

    it('deletion revokes every key and removes the OAuth client; deleted is final', async () => {
      const created = await register('to delete');
      const second = await dev.apiKeys.create({ clientApplicationId: created.application.id }, developer);
      await assert.rejects(
        dev.applications.setState(created.application.id, 'deleted', 'x', developer),
        rejectsWith(403),
      );
      await dev.applications.setState(created.application.id, 'deleted', 'no longer needed', owner);
      for (const key of [created.apiKey?.key ?? '', second.key]) {
        assert.deepEqual(await dev.keyVerifier.verify(key), { ok: false, reason: 'revoked' });
      }
      assert.equal(await t.app.services.oauth.clients.get(created.application.clientId), undefined);
      await assert.rejects(dev.applications.get(created.application.id, owner), rejectsWith(404));
      await assert.rejects(
        dev.applications.setState(created.application.id, 'active', 'x', cliActor),
        rejectsWith(404),
      );
      const stored = await t.app.context.db
        .selectFrom('client_applications')
        .select('state')
        .where('id', '=', created.application.id)
        .executeTakeFirst();
      assert.equal(stored?.state, 'deleted');
      const actions = (await t.app.context.audit.list({ targetId: created.application.id })).map(
        (e) => e.action,
      );
      assert.ok(actions.includes('clientApplication.deleted'));
    });

    it('approves a pending production application (institution only)', async () => {
      const created = await dev.applications.create(
        {
          organizationId: orgId,
          name: 'prod',
          kind: 'web',
          redirectUris: ['https://p.example/cb'],
          environment: 'production',
        },
        cliActor,
      );
      assert.equal(created.application.state, 'pending');
      assert.deepEqual(await dev.keyVerifier.verify(created.apiKey?.key ?? ''), {
        ok: false,
        reason: 'applicationPending',
      });
      await assert.rejects(
        dev.applications.setState(created.application.id, 'active', 'ok', owner),
        rejectsWith(403),
      );
      await dev.applications.setState(created.application.id, 'active', 'reviewed', cliActor);
      assert.equal((await dev.keyVerifier.verify(created.apiKey?.key ?? '')).ok, true);
    });

    it('knows the CORS origins of live browser applications (for preflights), until the app is deleted', async () => {
      const verifier = dev.keyVerifier;
      assert.equal(await verifier.isRegisteredOrigin('https://spa.example'), false);
      const created = await dev.applications.create(
        {
          organizationId: orgId,
          name: 'spa',
          kind: 'spa',
          redirectUris: ['https://spa.example/cb'],
          corsOrigins: ['https://spa.example'],
        },
        developer,
      );
      assert.equal(await verifier.isRegisteredOrigin('https://spa.example'), true);
      assert.equal(await verifier.isRegisteredOrigin('https://evil.example'), false);
      assert.equal(await verifier.isRegisteredOrigin('null'), false);
      await assert.rejects(
        register('bad origin', { kind: 'spa', corsOrigins: ['https://spa.example/path'] }),
        rejectsWith(422, 'corsOrigins.0'),
      );
      await dev.applications.setState(created.application.id, 'deleted', 'gone', owner);
      assert.equal(await verifier.isRegisteredOrigin('https://spa.example'), false);
    });

    it('rotates the client secret through the authorization server, audited', async () => {
      const created = await register('secret rotation');
      const rotated = await dev.applications.rotateSecret(created.application.id, 60, developer);
      assert.notEqual(rotated.clientSecret, created.clientSecret);
      assert.equal(rotated.clientId, created.application.clientId);
      const actions = (await t.app.context.audit.list({ targetId: created.application.id })).map(
        (e) => e.action,
      );
      assert.ok(actions.includes('clientSecret.rotated'));
    });
  });
}
