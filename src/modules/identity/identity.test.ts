import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hash } from '@node-rs/argon2';
import { generate } from 'otplib';
import { createTestApp, type TestApp, testDialects } from '../../../test/helpers/test-app.ts';
import { readDemoFile } from '../../demo/demo-file.ts';
import { createManualClock } from '../../lib/clock.ts';
import { passwordProblem } from './passwords.ts';

const PASSWORD = 'correct horse battery staple';

describe('password policy', () => {
  it('refuses fewer than 8 characters and accepts 8', () => {
    assert.ok(passwordProblem('kqzvmtr'));
    assert.equal(passwordProblem('kqzvmtrw'), undefined);
  });
  it('accepts long passphrases up to 128 characters and refuses longer', () => {
    assert.equal(passwordProblem('x'.repeat(64) + 'y'.repeat(64)), undefined);
    assert.ok(passwordProblem('z'.repeat(129)));
  });
  it('has no composition rules', () => {
    assert.equal(passwordProblem('all lower case words here'), undefined);
  });
  it('refuses common passwords whatever their case', () => {
    for (const common of ['Password1', 'password123', 'QWERTY123', 'letmein1'])
      assert.ok(passwordProblem(common), common);
  });
  it('refuses the username as password', () => {
    assert.ok(passwordProblem('alice-the-user', 'ALICE-the-user'));
  });
});

for (const dialect of testDialects()) {
  describe(`identity (${dialect})`, () => {
    let t: TestApp;
    const clock = createManualClock(Date.now());
    let n = 0;
    const identity = () => t.app.services.identity;
    const newUser = async (roles = ['customer']) => {
      n += 1;
      return identity().createUser({ username: `person${n}`, password: PASSWORD, roles });
    };
    const address = '198.51.100.7';

    before(async () => {
      t = await createTestApp({ dialect, args: ['--demo'], clock });
    });
    after(async () => {
      await t?.close();
    });

    it('P1: stores argon2id m=19456,t=2,p=1 hashes with a unique salt per user', async () => {
      const a = await newUser();
      const b = await newUser();
      const rows = await t.app.context.db
        .selectFrom('users')
        .select(['id', 'password_hash'])
        .where('id', 'in', [a.id, b.id])
        .execute();
      for (const row of rows)
        assert.match(row.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[^$]+\$[^$]+$/);
      const salts = rows.map((r) => r.password_hash.split('$')[4]);
      assert.notEqual(salts[0], salts[1]);
    });

    it('P1: rehashes a weaker hash at the next successful sign-in', async () => {
      const user = await newUser();
      const weak = await hash(PASSWORD, { memoryCost: 4096, timeCost: 1, parallelism: 1 });
      await t.app.context.db
        .updateTable('users')
        .set({ password_hash: weak })
        .where('id', '=', user.id)
        .execute();
      const result = await identity().authenticate({ username: user.username, password: PASSWORD, address });
      assert.equal(result.ok, true);
      const row = await t.app.context.db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
      assert.match(row.password_hash, /m=19456,t=2,p=1/);
    });

    it('P2: does not truncate or case-fold passwords', async () => {
      const user = await newUser();
      assert.equal(
        (await identity().authenticate({ username: user.username, password: `${PASSWORD}x`, address })).ok,
        false,
      );
      assert.equal(
        (
          await identity().authenticate({
            username: user.username,
            password: PASSWORD.toUpperCase(),
            address,
          })
        ).ok,
        false,
      );
      assert.equal(
        (
          await identity().authenticate({
            username: user.username.toUpperCase(),
            password: PASSWORD,
            address,
          })
        ).ok,
        true,
      );
    });

    it('P3: the lock expires after 15 minutes and unlock lifts it at once', async () => {
      const user = await newUser();
      for (let i = 0; i < 10; i++)
        await identity().authenticate({
          username: user.username,
          password: 'wrong wrong wrong',
          address: `203.0.113.${i}`,
        });
      assert.deepEqual(
        await identity().authenticate({ username: user.username, password: PASSWORD, address }),
        { ok: false, reason: 'locked', retryAfterSeconds: 900 },
      );
      clock.advance(15 * 60_000 + 1000);
      assert.equal(
        (await identity().authenticate({ username: user.username, password: PASSWORD, address })).ok,
        true,
      );
      for (let i = 0; i < 10; i++)
        await identity().authenticate({
          username: user.username,
          password: 'wrong wrong wrong',
          address: `203.0.113.${i}`,
        });
      await identity().unlock(user.username);
      assert.equal(
        (await identity().authenticate({ username: user.username, password: PASSWORD, address })).ok,
        true,
      );
    });

    it('P3: throttles one address after 100 failed sign-ins in a minute, across accounts', async () => {
      const from = '192.0.2.55';
      for (let i = 0; i < 100; i++)
        await identity().authenticate({
          username: `ghost${i}`,
          password: 'wrong wrong wrong',
          address: from,
        });
      const user = await newUser();
      const result = await identity().authenticate({
        username: user.username,
        password: PASSWORD,
        address: from,
      });
      assert.equal(result.ok, false);
      assert.equal(result.ok === false && result.reason, 'throttled');
    });

    it('wrong second factors count against the address like wrong passwords (one throttle)', async () => {
      const from = '192.0.2.77';
      for (let i = 0; i < 100; i++) await identity().countAddressFailure(from);
      assert.ok(((await identity().addressRetryAfter(from)) ?? 0) > 0);
      const user = await newUser();
      const result = await identity().authenticate({
        username: user.username,
        password: PASSWORD,
        address: from,
      });
      assert.equal(result.ok === false && result.reason, 'throttled');
      assert.equal(await identity().addressRetryAfter('192.0.2.78'), undefined);
    });

    it('a disabled user cannot sign in', async () => {
      const user = await newUser();
      await identity().setStatus(user.id, 'disabled', 'test');
      assert.equal(
        (await identity().authenticate({ username: user.username, password: PASSWORD, address })).ok,
        false,
      );
      assert.equal(await identity().isActive(user.id), false);
    });

    it('requires MFA for operator and system roles and for users marked so', async () => {
      assert.equal((await newUser(['teller'])).mfaRequired, true);
      assert.equal((await newUser(['fiAdministrator'])).mfaRequired, true);
      assert.equal((await newUser(['customer'])).mfaRequired, false);
      const marked = await identity().createUser({
        username: 'marked',
        password: PASSWORD,
        roles: ['customer'],
        mfaRequired: true,
      });
      assert.equal(marked.mfaRequired, true);
      const result = await identity().authenticate({ username: 'marked', password: PASSWORD, address });
      assert.equal(result.ok && result.mfa, 'enroll');
    });

    it('accepts a TOTP code once per 30-second step', async () => {
      const user = await newUser(['teller']);
      const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
      await identity().setTotpSecret(user.id, secret);
      const code = await generate({ secret, epoch: Math.floor(clock.now() / 1000) });
      assert.equal(await identity().verifyOtp(user.id, code), true);
      assert.equal(await identity().verifyOtp(user.id, code), false);
      assert.equal(await identity().verifyOtp(user.id, '000000'), false);
      clock.advance(30_000);
      const next = await generate({ secret, epoch: Math.floor(clock.now() / 1000) });
      assert.equal(await identity().verifyOtp(user.id, next), true);
    });

    it('accepts each recovery code once, in the otp field', async () => {
      const user = await newUser(['teller']);
      const codes = await identity().setTotpSecret(user.id, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
      assert.equal(codes.length, 10);
      assert.equal(await identity().verifyOtp(user.id, codes[0] as string), true);
      assert.equal(await identity().verifyOtp(user.id, codes[0] as string), false);
      assert.equal(await identity().verifyOtp(user.id, codes[1] as string), true);
    });

    it('keeps TOTP secrets sealed at rest', async () => {
      const user = await newUser(['teller']);
      const secret = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU';
      await identity().setTotpSecret(user.id, secret);
      const row = await t.app.context.db
        .selectFrom('users')
        .select('totp_secret_sealed')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
      assert.ok(row.totp_secret_sealed?.startsWith('v1.'));
      assert.ok(!row.totp_secret_sealed?.includes(secret));
    });

    it('grants the union of the scopes of the user’s roles, following role edits', async () => {
      const user = await newUser(['teller', 'developer']);
      assert.deepEqual([...(await identity().scopesOf(user.id))].sort(), [
        'admin/read',
        'admin/write',
        'banking/read',
        'banking/readBalance',
        'profile/read',
      ]);
      const teller = await identity().getRole('teller');
      assert.ok(teller);
      await identity().saveRole({ ...teller, scopes: ['banking/read'] });
      try {
        assert.ok(!(await identity().scopesOf(user.id)).has('banking/readBalance'));
      } finally {
        await identity().saveRole(teller);
      }
    });

    it('refuses unknown roles and scopes', async () => {
      await assert.rejects(
        identity().createUser({ username: 'norole', password: PASSWORD, roles: ['wizard'] }),
        /Unknown role/,
      );
      await assert.rejects(
        identity().saveRole({
          name: 'odd',
          category: 'customer',
          description: 'x',
          scopes: ['banking/everything'],
          requiresMfa: false,
        }),
        /Unknown scope/,
      );
    });

    it('seeds the demo people with their roles, scopes, and TOTP for MFA roles', async () => {
      const demo = await readDemoFile(t.dataDir);
      assert.ok(demo);
      const byName = Object.fromEntries(demo.users.map((u) => [u.username, u]));
      assert.deepEqual(Object.keys(byName).sort(), ['alice', 'bob', 'carol', 'dana', 'fiona', 'ivan', 'tom']);
      assert.deepEqual(byName.alice?.roles, ['customer']);
      assert.ok(byName.alice?.scopes.includes('banking/write'));
      assert.equal(byName.alice?.totpSecret, undefined);
      assert.deepEqual(byName.dana?.roles, ['depositAccountsManager']);
      assert.ok(!byName.dana?.scopes.includes('banking/readBalance'));
      assert.deepEqual(byName.fiona?.scopes, ['admin/full', 'admin/read', 'admin/write', 'data/read']);
      for (const name of ['tom', 'dana', 'ivan', 'fiona']) {
        assert.match(byName[name]?.totpSecret ?? '', /^[A-Z2-7]+=*$/);
        assert.equal(byName[name]?.recoveryCodes?.length, 10);
      }
      const check = await identity().authenticate({
        username: 'alice',
        password: byName.alice?.password as string,
        address: '192.0.2.200',
      });
      assert.equal(check.ok, true);
    });
  });
}
