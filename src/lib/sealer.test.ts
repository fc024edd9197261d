import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createSealer } from './sealer.ts';

test('a sealed value opens with the same key and context', () => {
  const sealer = createSealer(randomBytes(32));
  const sealed = sealer.seal('signing-key-material', 'signingKey:k1');
  assert.doesNotMatch(sealed, /signing-key-material/);
  assert.equal(sealer.open(sealed, 'signingKey:k1'), 'signing-key-material');
});

test('a sealed value does not open under another context', () => {
  const sealer = createSealer(randomBytes(32));
  const sealed = sealer.seal('totp-secret', 'totp:usr_1');
  assert.throws(() => sealer.open(sealed, 'totp:usr_2'));
});

test('a tampered value is refused', () => {
  const sealer = createSealer(randomBytes(32));
  const sealed = sealer.seal('x');
  const parts = sealed.split('.');
  parts[3] = Buffer.from('y').toString('base64url');
  assert.throws(() => sealer.open(parts.join('.')));
});

test('another key cannot open it', () => {
  const sealed = createSealer(randomBytes(32)).seal('x');
  assert.throws(() => createSealer(randomBytes(32)).open(sealed));
});
