import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { cliActor, type Developers } from '../../src/modules/developers/index.ts';
import { createTestApp, TEST_KEK, type TestApp, testDialects } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';
import { readDemo } from './helpers.ts';

async function run(t: TestApp, args: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c) => out.push(String(c)));
  stderr.on('data', (c) => err.push(String(c)));
  const flags = [
    '--data-dir',
    t.dataDir,
    ...(t.config.databaseUrl ? ['--database-url', t.config.databaseUrl] : []),
  ];
  const code = await main([...args, ...flags], {
    stdout,
    stderr,
    stdin: Readable.from([]),
    // On PostgreSQL the key-encryption key must come from the environment.
    env: t.config.databaseUrl ? { STRONGROOM_KEK: TEST_KEK } : {},
    cwd: process.cwd(),
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** Whether `check` passes within a second (DESIGN.md §2: changes reach every process within 1 s). */
const within1s = (check: () => Promise<boolean>) => waitFor(check, { timeoutMs: 1000 }).catch(() => false);

for (const dialect of testDialects()) {
  describe(`${dialect}: developers CLI`, () => {
    let t: TestApp;
    let dev: Developers;
    before(async () => {
      t = await createTestApp({ dialect, args: ['--demo'] });
      dev = t.app.services.developers;
    });
    after(() => t.close());

    it('lists applications, keys and plans as JSON without secrets', async () => {
      const apps = await run(t, ['apps', 'list', '--json']);
      assert.equal(apps.code, 0, apps.stderr);
      assert.deepEqual((JSON.parse(apps.stdout) as { name: string }[]).map((a) => a.name).sort(), [
        'backOffice',
        'loadTest',
        'mobile',
      ]);
      const keys = await run(t, ['api-keys', 'list', '--json']);
      assert.equal(keys.code, 0, keys.stderr);
      const demo = readDemo(t.dataDir);
      for (const app of Object.values(demo.apps)) assert.ok(!keys.stdout.includes(app?.apiKey ?? '-'));
      const plans = await run(t, ['plans', 'list', '--json']);
      assert.deepEqual((JSON.parse(plans.stdout) as { name: string }[]).map((p) => p.name).sort(), [
        'loadTest',
        'standard',
      ]);
    });

    it('suspends, reinstates and revokes a key of a running server, effective within 1 s', async () => {
      const created = await dev.apiKeys.create(
        { clientApplicationId: readDemo(t.dataDir).apps.mobile?.applicationId ?? '' },
        cliActor,
      );
      const id = created.view.id;
      assert.equal((await run(t, ['api-keys', 'activate', '--id', id])).code, 0);
      assert.ok(await within1s(async () => (await dev.keyVerifier.verify(created.key)).ok));
      const suspended = await run(t, [
        'api-keys',
        'suspend',
        '--id',
        id,
        '--reason',
        'investigation',
        '--json',
      ]);
      assert.equal(suspended.code, 0, suspended.stderr);
      assert.equal(JSON.parse(suspended.stdout).state, 'suspended');
      assert.ok(await within1s(async () => (await dev.keyVerifier.verify(created.key)).ok === false));
      assert.deepEqual(await dev.keyVerifier.verify(created.key), { ok: false, reason: 'suspended' });
      assert.equal((await run(t, ['api-keys', 'reinstate', '--id', id])).code, 0);
      assert.ok(await within1s(async () => (await dev.keyVerifier.verify(created.key)).ok));
      assert.equal((await run(t, ['api-keys', 'revoke', '--id', id, '--reason', 'leaked'])).code, 0);
      assert.ok(await within1s(async () => (await dev.keyVerifier.verify(created.key)).ok === false));
      assert.deepEqual(await dev.keyVerifier.verify(created.key), { ok: false, reason: 'revoked' });
    });

    it('suspends and reinstates an application of a running server within 1 s', async () => {
      const demo = readDemo(t.dataDir);
      const mobile = demo.apps.mobile;
      assert.ok(mobile);
      assert.equal((await dev.keyVerifier.verify(mobile.apiKey)).ok, true);
      const suspended = await run(t, ['apps', 'suspend', '--id', mobile.applicationId, '--reason', 'audit']);
      assert.equal(suspended.code, 0, suspended.stderr);
      assert.ok(await within1s(async () => (await dev.keyVerifier.verify(mobile.apiKey)).ok === false));
      assert.deepEqual(await dev.keyVerifier.verify(mobile.apiKey), {
        ok: false,
        reason: 'applicationSuspended',
      });
      assert.equal((await run(t, ['apps', 'reinstate', '--id', mobile.applicationId])).code, 0);
      assert.ok(await within1s(async () => (await dev.keyVerifier.verify(mobile.apiKey)).ok));
    });

    it('requires a reason to suspend or revoke (usage error)', async () => {
      const result = await run(t, ['api-keys', 'revoke', '--id', 'key_x']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /--reason/);
    });

    it('reports an unknown key as a failure', async () => {
      const result = await run(t, [
        'api-keys',
        'suspend',
        '--id',
        'key_unknown0000000000000',
        '--reason',
        'x',
      ]);
      assert.equal(result.code, 1);
    });

    it('changes the abuse thresholds of a running server', async () => {
      const set = await run(t, [
        'abuse',
        'set',
        '--grant-refusals-per-minute',
        '3',
        '--exempt-plans',
        'loadTest,gold',
        '--json',
      ]);
      assert.equal(set.code, 0, set.stderr);
      assert.deepEqual(JSON.parse(set.stdout), {
        grantRefusalsPerMinute: 3,
        revokedGrantsToSuspend: 3,
        revokedGrantsWindowMinutes: 10,
        keyRefusalsPerMinute: 200,
        exemptPlans: ['loadTest', 'gold'],
      });
      assert.ok(await within1s(async () => dev.abuse.settings().grantRefusalsPerMinute === 3));
      const shown = await run(t, ['abuse', 'show']);
      assert.match(shown.stdout, /more than 3 authenticated refusals/);
      assert.match(shown.stdout, /Exempt plans: loadTest, gold/);
      const bad = await run(t, ['abuse', 'set', '--key-refusals-per-minute', '0']);
      assert.equal(bad.code, 2);
      assert.equal(
        (await run(t, ['abuse', 'set', '--grant-refusals-per-minute', '50', '--exempt-plans', 'loadTest']))
          .code,
        0,
      );
    });

    it('lists, approves and rejects change requests; approval applies the change at once', async () => {
      const demo = readDemo(t.dataDir);
      const ivan = demo.users.find((u) => u.username === 'ivan');
      const mobile = demo.apps.mobile?.applicationId ?? '';
      const developer = { type: 'user' as const, id: ivan?.id ?? '', institution: false };
      const before = await dev.applications.get(mobile, cliActor);
      const wanted = [...before.redirectUris, 'http://127.0.0.1:9001/callback'];
      const asked = await dev.applications.change(mobile, { redirectUris: wanted }, developer);
      const scopes = await dev.applications.change(
        mobile,
        { scopes: [...before.scopes, 'data/read'] },
        developer,
      );
      const listed = await run(t, ['requests', 'list', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      const queue = JSON.parse(listed.stdout) as {
        id: string;
        kind: string;
        state: string;
        requested: string[];
      }[];
      assert.deepEqual(
        queue
          .filter((r) => r.id === asked.requests[0]?.id || r.id === scopes.requests[0]?.id)
          .map((r) => [r.kind, r.state]),
        [
          ['redirectUris', 'pending'],
          ['scope', 'pending'],
        ],
      );
      const approved = await run(t, ['requests', 'approve', asked.requests[0]?.id ?? '', '--reason', 'ok']);
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stdout, /is approved/);
      assert.deepEqual((await dev.applications.get(mobile, cliActor)).redirectUris, wanted);
      const rejected = await run(t, ['requests', 'reject', scopes.requests[0]?.id ?? '', '--reason', 'no']);
      assert.equal(rejected.code, 0, rejected.stderr);
      assert.deepEqual((await dev.applications.get(mobile, cliActor)).scopes, before.scopes);
      const again = await run(t, ['requests', 'approve', scopes.requests[0]?.id ?? '']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already rejected/);
      assert.equal((await run(t, ['requests', 'approve', 'crq_doesNotExist'])).code, 1);
      assert.equal((await run(t, ['requests', 'approve'])).code, 2);
      const pending = JSON.parse((await run(t, ['requests', 'list', '--json'])).stdout) as unknown[];
      assert.equal(pending.length, 0);
      await dev.applications.update(mobile, { redirectUris: before.redirectUris }, cliActor);
    });

    it("moves a demo backOffice seeded under the fintech organization into the institution's own on refresh", async () => {
      const demo = readDemo(t.dataDir);
      const id = demo.apps.backOffice?.applicationId ?? '';
      const fintech = (await dev.applications.get(demo.apps.mobile?.applicationId ?? '', cliActor))
        .organizationId;
      const institution = (await dev.applications.get(id, cliActor)).organizationId;
      assert.notEqual(institution, fintech);
      await dev.applications.update(id, { organizationId: fintech }, cliActor);
      await dev.demoSeeder.refresh?.(demo);
      assert.equal((await dev.applications.get(id, cliActor)).organizationId, institution);
    });

    it('refuses to revoke a grant that does not exist (exit 1, nothing printed as revoked)', async () => {
      const result = await run(t, ['grants', 'revoke', '--grant', 'doesnotexist']);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /no such grant: doesnotexist/);
    });

    it('grants and revokes an entitlement through the service, which audits it as the CLI', async () => {
      const target = ['--subject', 'usr_cliGrant', '--resource', 'account', '--id', 'accCli1'];
      const granted = await run(t, ['entitlements', 'grant', ...target, '--permissions', 'view,viewBalance']);
      assert.equal(granted.code, 0, granted.stderr);
      assert.equal(
        await t.app.services.entitlements.has('usr_cliGrant', 'account', 'accCli1', 'viewBalance'),
        true,
      );
      const revoked = await run(t, ['entitlements', 'revoke', ...target, '--permissions', 'viewBalance']);
      assert.equal(revoked.code, 0, revoked.stderr);
      const entries = await t.app.context.audit.list({ targetType: 'account', targetId: 'accCli1' });
      assert.deepEqual(entries.map((e) => `${e.action} by ${e.actor.type}`).sort(), [
        'entitlement.granted by cli',
        'entitlement.revoked by cli',
      ]);
    });

    it("changes a rate plan, picked up by the running server's verifier", async () => {
      const result = await run(t, [
        'plans',
        'set',
        '--name',
        'standard',
        '--per-second',
        '50',
        '--burst',
        '100',
        '--per-day',
        '500000',
        '--json',
      ]);
      assert.equal(result.code, 0, result.stderr);
      const backOffice = readDemo(t.dataDir).apps.backOffice?.apiKey ?? '';
      assert.ok(
        await within1s(async () => {
          const verified = await dev.keyVerifier.verify(backOffice);
          return verified.ok && verified.key.plan.perSecond === 50;
        }),
      );
    });
  });
}
