import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp, testDialects } from '../../../test/helpers/test-app.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { AppError } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import type { Entitlements } from './index.ts';

for (const dialect of testDialects()) {
  describe(`entitlements (${dialect})`, () => {
    let t: TestApp;
    let entitlements: Entitlements;
    before(async () => {
      t = await createTestApp({ dialect });
      entitlements = t.app.services.entitlements as Entitlements;
    });
    after(() => t.close());

    test('a granted permission is held on that resource only', async () => {
      await entitlements.grant({
        subject: 'usr_a1',
        resource: 'account',
        resourceId: 'acc1',
        permissions: ['view', 'viewBalance'],
        relationship: 'owner',
      });
      assert.equal(await entitlements.has('usr_a1', 'account', 'acc1', 'view'), true);
      assert.equal(await entitlements.has('usr_a1', 'account', 'acc1', 'transferFrom'), false);
      assert.equal(await entitlements.has('usr_a1', 'account', 'acc2', 'view'), false);
      assert.equal(await entitlements.has('usr_other', 'account', 'acc1', 'view'), false);
      assert.equal(await entitlements.has('usr_a1', 'transfer', 'acc1', 'view'), false);
    });

    test('granting again merges permissions and takes the new relationship', async () => {
      await entitlements.grant({
        subject: 'usr_m1',
        resource: 'account',
        resourceId: 'acc1',
        permissions: ['view'],
        relationship: 'beneficialOwner',
      });
      assert.equal(await entitlements.has('usr_m1', 'account', 'acc1', 'transferFrom'), false);
      await entitlements.grant({
        subject: 'usr_m1',
        resource: 'account',
        resourceId: 'acc1',
        permissions: ['transferFrom', 'view'],
        relationship: 'owner',
      });
      assert.equal(await entitlements.has('usr_m1', 'account', 'acc1', 'transferFrom'), true);
      assert.deepEqual(await entitlements.list({ subject: 'usr_m1' }), [
        {
          subject: 'usr_m1',
          resource: 'account',
          resourceId: 'acc1',
          permissions: ['transferFrom', 'view'],
          relationship: 'owner',
        },
      ]);
    });

    test('revoking some permissions keeps the others; revoking all removes the row', async () => {
      const target = { subject: 'usr_r1', resource: 'account', resourceId: 'acc9' };
      await entitlements.grant({ ...target, permissions: ['view', 'transferTo'], relationship: 'owner' });
      await entitlements.revoke({ ...target, permissions: ['transferTo'] });
      assert.equal(await entitlements.has('usr_r1', 'account', 'acc9', 'transferTo'), false);
      assert.equal(await entitlements.has('usr_r1', 'account', 'acc9', 'view'), true);
      await entitlements.revoke(target);
      assert.equal(await entitlements.has('usr_r1', 'account', 'acc9', 'view'), false);
      assert.deepEqual(await entitlements.list({ subject: 'usr_r1' }), []);
    });

    test('an institution-wide grant covers every id and ids() answers "*"', async () => {
      await entitlements.grant({
        subject: 'usr_teller',
        resource: 'account',
        resourceId: '*',
        permissions: ['view', 'viewBalance'],
        relationship: 'institution',
      });
      assert.equal(await entitlements.has('usr_teller', 'account', 'anything', 'viewBalance'), true);
      assert.equal(await entitlements.has('usr_teller', 'account', 'anything', 'transferFrom'), false);
      assert.equal(await entitlements.ids('usr_teller', 'account', 'view'), '*');
      assert.deepEqual(await entitlements.ids('usr_teller', 'account', 'transferFrom'), new Set());
    });

    test('ids() lists exactly the ids holding the permission', async () => {
      for (const [id, permissions] of [
        ['l1', ['view']],
        ['l2', ['view', 'transferFrom']],
        ['l3', ['transferTo']],
      ] as const) {
        await entitlements.grant({
          subject: 'usr_list',
          resource: 'account',
          resourceId: id,
          permissions: [...permissions],
          relationship: 'owner',
        });
      }
      assert.deepEqual(await entitlements.ids('usr_list', 'account', 'view'), new Set(['l1', 'l2']));
      assert.deepEqual(await entitlements.ids('usr_nobody', 'account', 'view'), new Set());
    });

    test('a grant inside a caller transaction rolls back with it', async () => {
      await assert.rejects(
        t.app.context.db.transaction().execute(async (trx) => {
          await entitlements.grant(
            {
              subject: 'usr_tx',
              resource: 'account',
              resourceId: 'acc1',
              permissions: ['view'],
              relationship: 'owner',
            },
            trx,
          );
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.equal(await entitlements.has('usr_tx', 'account', 'acc1', 'view'), false);
    });

    test('a grant made through the service is audited with its actor and the permissions before and after', async () => {
      const target = { subject: 'usr_aud1', resource: 'account', resourceId: 'accAudit1' };
      await entitlements.grant({ ...target, permissions: ['view'], relationship: 'owner' });
      await entitlements.grant(
        { ...target, permissions: ['transferFrom'], relationship: 'owner' },
        undefined,
        {
          type: 'user',
          id: 'usr_admin',
          requestId: 'req_audit1',
        },
      );
      // Both may carry the same millisecond: tell them apart by actor, not by order.
      const entries = await t.app.context.audit.list({ targetType: 'account', targetId: 'accAudit1' });
      assert.equal(entries.length, 2);
      const first = entries.find((e) => e.actor.type === 'system');
      const merged = entries.find((e) => e.actor.type === 'user');
      assert.equal(first?.action, 'entitlement.granted');
      assert.deepEqual(first?.actor, { type: 'system', id: null });
      assert.deepEqual(first?.before, undefined);
      assert.deepEqual(first?.after, { ...target, permissions: ['view'], relationship: 'owner' });
      assert.equal(merged?.action, 'entitlement.granted');
      assert.deepEqual(merged?.actor, { type: 'user', id: 'usr_admin' });
      assert.equal(merged?.requestId, 'req_audit1');
      assert.deepEqual(merged?.before, { ...target, permissions: ['view'], relationship: 'owner' });
      assert.deepEqual(merged?.after, {
        ...target,
        permissions: ['transferFrom', 'view'],
        relationship: 'owner',
      });
    });

    test('a revocation is audited; revoking what is not held records nothing', async () => {
      const target = { subject: 'usr_aud2', resource: 'account', resourceId: 'accAudit2' };
      await entitlements.grant({ ...target, permissions: ['view', 'transferTo'], relationship: 'owner' });
      await entitlements.revoke({ ...target, permissions: ['transferTo'] }, undefined, { type: 'cli' });
      await entitlements.revoke({ ...target, subject: 'usr_nobody' }, undefined, { type: 'cli' });
      const entries = await t.app.context.audit.list({ targetType: 'account', targetId: 'accAudit2' });
      assert.deepEqual(entries.map((e) => e.action).sort(), ['entitlement.granted', 'entitlement.revoked']);
      const revoked = entries.find((e) => e.action === 'entitlement.revoked');
      assert.deepEqual(revoked?.actor, { type: 'cli', id: null });
      assert.deepEqual(revoked?.after, { ...target, permissions: ['view'], relationship: 'owner' });
    });

    test("a grant rolled back with the caller's transaction leaves no audit record either", async () => {
      await assert.rejects(
        t.app.context.db.transaction().execute(async (trx) => {
          const grant = {
            subject: 'usr_aud3',
            resource: 'account',
            resourceId: 'accAudit3',
            permissions: ['view'],
            relationship: 'owner',
          };
          await entitlements.grant(grant, trx);
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.deepEqual(await t.app.context.audit.list({ targetType: 'account', targetId: 'accAudit3' }), []);
    });

    test('concurrent grants to the same resource merge without losing permissions', async () => {
      const permissions = ['view', 'viewBalance', 'transferFrom', 'transferTo', 'viewAccountNumber'];
      await Promise.all(
        permissions.map((permission) =>
          entitlements.grant({
            subject: 'usr_race',
            resource: 'account',
            resourceId: 'accR',
            permissions: [permission],
            relationship: 'owner',
          }),
        ),
      );
      const [row] = await entitlements.list({ subject: 'usr_race' });
      assert.deepEqual(row?.permissions, [...permissions].sort());
    });

    test('rejects malformed resource ids and empty permission lists', async () => {
      await assert.rejects(
        entitlements.grant({
          subject: 'usr_bad',
          resource: 'account',
          resourceId: '../x',
          permissions: ['view'],
          relationship: 'owner',
        }),
        (error) => error instanceof AppError && error.status === 400,
      );
      await assert.rejects(
        entitlements.grant({
          subject: 'usr_bad',
          resource: 'account',
          resourceId: 'acc1',
          permissions: [],
          relationship: 'owner',
        }),
        (error) => error instanceof AppError && error.status === 400,
      );
    });

    test('a change made by another process reaches this cache through the change feed', async () => {
      assert.equal(await entitlements.has('usr_remote', 'account', 'accX', 'view'), false);
      // A change-feed delivery of an earlier test's change may drop the entry right after it was loaded:
      // load again (bounded) until the subject's entitlements are in the cache.
      await waitFor(async () => {
        await entitlements.has('usr_remote', 'account', 'accX', 'view');
        return entitlements.hasCached('usr_remote', 'account', 'accX', 'view') === false;
      }).catch(() => {});
      assert.equal(entitlements.hasCached('usr_remote', 'account', 'accX', 'view'), false);
      // Another process writes the row and the change record directly (as its service would).
      const now = isoAt(t.app.context.clock.now());
      await t.app.context.db
        .insertInto('entitlements')
        .values({
          id: 'ent_remote',
          subject: 'usr_remote',
          resource: 'account',
          resource_id: 'accX',
          permissions_json: '["view"]',
          relationship: 'owner',
          created_at: now,
          updated_at: now,
        })
        .execute();
      await t.app.context.changes.publish('entitlement', 'usr_remote');
      // A poll already in flight may predate the change: wait (bounded) for the one that sees it.
      await waitFor(async () => {
        await t.app.context.changes.pollNow();
        return entitlements.hasCached('usr_remote', 'account', 'accX', 'view') === undefined;
      }).catch(() => {});
      assert.equal(entitlements.hasCached('usr_remote', 'account', 'accX', 'view'), undefined);
      assert.equal(await entitlements.has('usr_remote', 'account', 'accX', 'view'), true);
    });
  });
}
