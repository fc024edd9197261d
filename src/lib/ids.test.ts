import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isOpaqueId, newId, newRequestId, randomBase62 } from './ids.ts';

test('ids have a fixed length and only base62 characters after the prefix', () => {
  for (let i = 0; i < 200; i++) {
    assert.match(newId('app'), /^app_[0-9A-Za-z]{20}$/);
    assert.match(newRequestId(), /^req_[0-9A-Za-z]{20}$/);
  }
});

test('random strings do not repeat', () => {
  const seen = new Set(Array.from({ length: 1000 }, () => randomBase62(22)));
  assert.equal(seen.size, 1000);
});

test('opaque ids are at most 64 characters of [A-Za-z0-9_-]', () => {
  assert.equal(isOpaqueId('ca34f402-1d2e'), true);
  assert.equal(isOpaqueId('a'.repeat(64)), true);
  assert.equal(isOpaqueId('a'.repeat(65)), false);
  assert.equal(isOpaqueId("acc-1' OR '1'='1"), false);
  assert.equal(isOpaqueId('../etc'), false);
  assert.equal(isOpaqueId(''), false);
});
