import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKey, hashKey, KEY_PATTERN, parseKey } from './key-format.ts';

describe('API key format', () => {
  it('is recognisable: srk_ prefix, environment, id part, secret and checksum', () => {
    const live = generateKey('production');
    const test = generateKey('sandbox');
    assert.match(live.key, /^srk_live_[0-9A-Za-z]{20}_[0-9A-Za-z]{38}$/);
    assert.match(test.key, /^srk_test_[0-9A-Za-z]{20}_[0-9A-Za-z]{38}$/);
    assert.match(live.key, KEY_PATTERN);
    assert.equal(live.id, `key_${live.key.slice(9, 29)}`);
    assert.ok(live.key.startsWith(live.prefix));
    assert.equal(live.last4, live.key.slice(-4));
  });

  it('stores only the SHA-256 hash, never the key', () => {
    const generated = generateKey('sandbox');
    assert.equal(generated.hash, hashKey(generated.key));
    assert.match(generated.hash, /^[0-9a-f]{64}$/);
    assert.ok(!generated.prefix.includes(generated.key.slice(30, 62)));
  });

  it('carries at least 128 bits of secret and never repeats (1000 keys)', () => {
    const secrets = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const { key } = generateKey('production');
      const secret = key.slice(30, 62);
      assert.ok(secret.length * Math.log2(62) >= 128);
      secrets.add(secret);
    }
    assert.equal(secrets.size, 1000);
  });

  it('parses a valid key to its id', () => {
    const generated = generateKey('production');
    assert.deepEqual(parseKey(generated.key), { ok: true, id: generated.id });
  });

  it('rejects a key whose checksum does not match (typo, tampering)', () => {
    const { key } = generateKey('production');
    const flipped = `${key.slice(0, 40)}${key[40] === 'a' ? 'b' : 'a'}${key.slice(41)}`;
    assert.deepEqual(parseKey(flipped), { ok: false });
    assert.deepEqual(parseKey(`${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`), { ok: false });
  });

  it('rejects malformed input without throwing', () => {
    for (const value of [
      '',
      'srk_live_',
      'x'.repeat(68),
      `${generateKey('sandbox').key}x`,
      `srk_prod_${'a'.repeat(59)}`,
    ]) {
      assert.deepEqual(parseKey(value), { ok: false });
    }
  });
});
