import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/lib/clock.ts';
import { cliActor, type Developers } from '../../src/modules/developers/index.ts';
import { composeKey, generateKey, parseKey } from '../../src/modules/developers/key-format.ts';
import { rejectsWith } from '../helpers/assertions.ts';
import { createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';
import { dumpDatabase, readDemo, userActor } from './helpers.ts';

for (const dialect of testDialects()) {
  describe(`${dialect}: API key lifecycle`, () => {
    const clock = createManualClock(Date.parse('2026-11-29T08:00:00Z'));
    let t: TestApp;
    let dev: Developers;
    const owner = userActor('usr_keysOwner0000000001');
    let sandboxAppId: string;
    let productionAppId: string;
    const plaintexts: string[] = [];

    before(async () => {
      t = await createTestApp({ dialect, args: ['--demo'], clock });
      dev = t.app.services.developers;
      const org = await dev.organizations.create(
        { name: 'Keys Org', owner: { userId: owner.id ?? '', displayName: 'keys-owner' } },
        cliActor,
      );
      const sandbox = await dev.applications.create(
        {
          organizationId: org.id,
          name: 'sandbox app',
          kind: 'web',
          redirectUris: ['https://app.example/cb'],
        },
        owner,
      );
      sandboxAppId = sandbox.application.id;
      if (sandbox.apiKey) plaintexts.push(sandbox.apiKey.key);
      if (sandbox.clientSecret) plaintexts.push(sandbox.clientSecret);
      const production = await dev.applications.create(
        {
          organizationId: org.id,
          name: 'production app',
          kind: 'web',
          redirectUris: ['https://app.example/cb'],
          environment: 'production',
          state: 'active',
        },
        cliActor,
        { initialKey: false },
      );
      productionAppId = production.application.id;
      if (production.clientSecret) plaintexts.push(production.clientSecret);
    });
    after(() => t.close());

    const newKey = async (appId = sandboxAppId) => {
      const created = await dev.apiKeys.create({ clientApplicationId: appId }, owner);
      plaintexts.push(created.key);
      return created;
    };
    const verify = async (key: string) => dev.keyVerifier.verify(key);
    const sameIdOtherSecret = (key: string) =>
      composeKey('sandbox', key.slice(9, 29), generateKey('sandbox').key.slice(30, 62)).key;

    it('starts a sandbox key active and verifies it', async () => {
      const { view, key } = await newKey();
      assert.equal(view.state, 'active');
      const result = await verify(key);
      assert.equal(result.ok, true);
      assert.equal(result.ok && result.key.keyId, view.id);
      assert.equal(result.ok && result.key.applicationId, sandboxAppId);
    });

    it('starts a production key pending (403 reason) until the institution approves it', async () => {
      const { view, key } = await newKey(productionAppId);
      assert.equal(view.state, 'pending');
      assert.deepEqual(await verify(key), { ok: false, reason: 'pending' });
      const approved = await dev.apiKeys.activate(view.id, 'looks fine', cliActor);
      assert.equal(approved.state, 'active');
      assert.equal((await verify(key)).ok, true);
    });

    it('refuses approval by an organization member (403) and leaves the key pending', async () => {
      const { view, key } = await newKey(productionAppId);
      await assert.rejects(dev.apiKeys.activate(view.id, null, owner), rejectsWith(403));
      assert.equal((await dev.apiKeys.get(view.id, owner)).state, 'pending');
      assert.deepEqual(await verify(key), { ok: false, reason: 'pending' });
    });

    it('suspends and reinstates an active key, effective on the next verification', async () => {
      const { view, key } = await newKey();
      await dev.apiKeys.suspend(view.id, 'investigating', cliActor);
      assert.deepEqual(await verify(key), { ok: false, reason: 'suspended' });
      await dev.apiKeys.activate(view.id, 'all clear', cliActor);
      assert.equal((await verify(key)).ok, true);
    });

    it('revokes a key for good, effective on the very next verification', async () => {
      const { view, key } = await newKey();
      assert.equal((await verify(key)).ok, true);
      const revoked = await dev.apiKeys.revoke(view.id, 'leaked on a forum', owner);
      assert.equal(revoked.state, 'revoked');
      assert.equal(revoked.stateReason, 'leaked on a forum');
      assert.deepEqual(await verify(key), { ok: false, reason: 'revoked' });
    });

    it('refuses every transition out of revoked (409)', async () => {
      const { view } = await newKey();
      await dev.apiKeys.revoke(view.id, null, owner);
      await assert.rejects(dev.apiKeys.activate(view.id, null, cliActor), rejectsWith(409));
      await assert.rejects(dev.apiKeys.suspend(view.id, 'x', cliActor), rejectsWith(409));
      await assert.rejects(dev.apiKeys.revoke(view.id, null, owner), rejectsWith(409));
      await assert.rejects(dev.apiKeys.rotate(view.id, {}, owner), rejectsWith(409));
    });

    it('refuses to suspend a pending key or to activate an active one (409)', async () => {
      const pending = await newKey(productionAppId);
      await assert.rejects(dev.apiKeys.suspend(pending.view.id, 'x', cliActor), rejectsWith(409));
      const active = await newKey();
      await assert.rejects(dev.apiKeys.activate(active.view.id, null, cliActor), rejectsWith(409));
    });

    it('expires a key at expiresAt, and expired is final', async () => {
      const created = await dev.apiKeys.create(
        { clientApplicationId: sandboxAppId, expiresAt: new Date(clock.now() + 60_000).toISOString() },
        owner,
      );
      plaintexts.push(created.key);
      assert.equal((await verify(created.key)).ok, true);
      clock.advance(60_000);
      assert.deepEqual(await verify(created.key), { ok: false, reason: 'expired' });
      assert.equal((await dev.apiKeys.get(created.view.id, owner)).state, 'expired');
      await assert.rejects(dev.apiKeys.activate(created.view.id, null, cliActor), rejectsWith(409));
      await assert.rejects(dev.apiKeys.suspend(created.view.id, 'x', cliActor), rejectsWith(409));
    });

    it('rejects an expiry in the past (400)', async () => {
      await assert.rejects(
        dev.apiKeys.create(
          { clientApplicationId: sandboxAppId, expiresAt: new Date(clock.now() - 1).toISOString() },
          owner,
        ),
        rejectsWith(400),
      );
    });

    it('rotation keeps the old key valid until the end of the overlap, not a moment longer', async () => {
      const old = await newKey();
      const rotated = await dev.apiKeys.rotate(old.view.id, { overlapSeconds: 3600 }, owner);
      plaintexts.push(rotated.key);
      assert.notEqual(rotated.view.id, old.view.id);
      assert.equal(rotated.view.state, 'active');
      assert.equal(rotated.view.rotatedFrom, old.view.id);
      assert.equal(rotated.previous.expiresAt, new Date(clock.now() + 3_600_000).toISOString());
      assert.equal((await verify(old.key)).ok, true);
      assert.equal((await verify(rotated.key)).ok, true);
      clock.advance(3_599_999);
      assert.equal((await verify(old.key)).ok, true);
      clock.advance(1);
      assert.deepEqual(await verify(old.key), { ok: false, reason: 'expired' });
      assert.equal((await verify(rotated.key)).ok, true);
    });

    it('rotation defaults to a 24-hour overlap', async () => {
      const old = await newKey();
      const rotated = await dev.apiKeys.rotate(old.view.id, {}, owner);
      plaintexts.push(rotated.key);
      assert.equal(rotated.previous.expiresAt, new Date(clock.now() + 86_400_000).toISOString());
    });

    it('rotation with overlap 0 ends the old key at once', async () => {
      const old = await newKey();
      const rotated = await dev.apiKeys.rotate(old.view.id, { overlapSeconds: 0 }, owner);
      plaintexts.push(rotated.key);
      assert.deepEqual(await verify(old.key), { ok: false, reason: 'expired' });
      assert.equal((await verify(rotated.key)).ok, true);
    });

    it('rejects an out-of-range overlap (400)', async () => {
      const old = await newKey();
      await assert.rejects(dev.apiKeys.rotate(old.view.id, { overlapSeconds: -1 }, owner), rejectsWith(400));
      await assert.rejects(dev.apiKeys.rotate(old.view.id, { overlapSeconds: 1.5 }, owner), rejectsWith(400));
    });

    it('answers unknown for a well-formed key with a wrong secret, and malformed for garbage', async () => {
      const { key } = await newKey();
      const forged = sameIdOtherSecret(key);
      assert.deepEqual(parseKey(forged), parseKey(key));
      assert.deepEqual(await verify(forged), { ok: false, reason: 'unknown' });
      assert.deepEqual(await verify(generateKey('sandbox').key), { ok: false, reason: 'unknown' });
      assert.deepEqual(await verify('not a key'), { ok: false, reason: 'malformed' });
      assert.deepEqual(await verify(`${key}x`), { ok: false, reason: 'malformed' });
    });

    // No timing test of the secret comparison: what is compared is the SHA-256 of the presented secret
    // (an attacker cannot steer it byte by byte), and the nanoseconds a plain `===` would leak drown in
    // the microseconds of a verification on a shared machine, so such a test could not fail.
    it('shows the plaintext only at creation: reads, lists and the audit log carry prefix and last4 only', async () => {
      const { view, key } = await newKey();
      const read = await dev.apiKeys.get(view.id, owner);
      assert.equal('key' in read, false);
      assert.equal('secretHash' in read, false);
      assert.ok(key.startsWith(read.prefix) && key.endsWith(read.last4));
      const listed = JSON.stringify(await dev.apiKeys.list({ clientApplicationId: sandboxAppId }, owner));
      assert.ok(!listed.includes(key));
      assert.ok(!listed.includes('secretHash'));
      const audit = JSON.stringify(
        await t.app.context.audit.list({ targetType: 'apiKey', targetId: view.id }),
      );
      assert.ok(audit.includes('apiKey.created'));
      assert.ok(!audit.includes(key));
    });

    it('audits every lifecycle event with actor, reason and before/after', async () => {
      const { view } = await newKey();
      clock.advance(1);
      await dev.apiKeys.suspend(view.id, 'suspicious traffic', cliActor);
      clock.advance(1);
      await dev.apiKeys.activate(view.id, 'cleared', cliActor);
      clock.advance(1);
      await dev.apiKeys.revoke(view.id, 'retired', owner);
      const entries = await t.app.context.audit.list({ targetType: 'apiKey', targetId: view.id });
      assert.deepEqual(entries.map((e) => e.action).reverse(), [
        'apiKey.created',
        'apiKey.suspended',
        'apiKey.reinstated',
        'apiKey.revoked',
      ]);
      const revoked = entries[0];
      assert.equal(revoked?.reason, 'retired');
      assert.equal(revoked?.actor.id, owner.id);
      assert.deepEqual(
        [revoked?.before, revoked?.after].map((s) => (s as { state: string } | undefined)?.state),
        ['active', 'revoked'],
      );
    });

    it('stores no plaintext key or client secret anywhere in the database', async () => {
      const demo = readDemo(t.dataDir);
      const secrets = [
        ...plaintexts,
        ...Object.values(demo.apps).flatMap((a) =>
          [a?.apiKey, a?.clientSecret].filter((s): s is string => !!s),
        ),
      ];
      assert.ok(secrets.length > 10);
      const dump = await dumpDatabase(t.app);
      for (const secret of secrets) assert.ok(!dump.includes(secret), 'a plaintext secret is stored');
      // The hashes are there (the dump really contains the key table).
      assert.match(dump, /api_keys/);
    });

    it('another organization member cannot see or touch the keys (404)', async () => {
      const { view } = await newKey();
      const stranger = userActor('usr_stranger0000000001');
      await assert.rejects(dev.apiKeys.get(view.id, stranger), rejectsWith(404));
      await assert.rejects(dev.apiKeys.revoke(view.id, null, stranger), rejectsWith(404));
      await assert.rejects(dev.apiKeys.rotate(view.id, {}, stranger), rejectsWith(404));
      await assert.rejects(
        dev.apiKeys.create({ clientApplicationId: sandboxAppId }, stranger),
        rejectsWith(404),
      );
      assert.deepEqual(await dev.apiKeys.list({}, stranger), []);
    });
  });
}
