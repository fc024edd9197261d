import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { fromMinor, toMinor } from './money.ts';

describe('money', () => {
  test('parses decimal strings into minor units without floating point', () => {
    assert.equal(toMinor('123.45', 'USD'), 12345);
    assert.equal(toMinor('0.1', 'USD'), 10);
    assert.equal(toMinor('7', 'USD'), 700);
    assert.equal(toMinor('-2.50', 'USD'), -250);
    assert.equal(toMinor('1000', 'JPY'), 1000);
  });

  test('rejects too many decimals, exponents, unknown currencies and absurd amounts', () => {
    for (const bad of ['1.234', '1e3', '', '.5', '1.', ' 1', '0x10', '9999999999999999']) {
      assert.equal(toMinor(bad, 'USD'), undefined, bad);
    }
    assert.equal(toMinor('1.5', 'JPY'), undefined);
    assert.equal(toMinor('1.00', 'XXX'), undefined);
  });

  test('formats minor units as decimal strings', () => {
    assert.equal(fromMinor(12345, 'USD'), '123.45');
    assert.equal(fromMinor(5, 'USD'), '0.05');
    assert.equal(fromMinor(-250, 'USD'), '-2.50');
    assert.equal(fromMinor(0, 'USD'), '0.00');
    assert.equal(fromMinor(1000, 'JPY'), '1000');
  });

  test('formatting then parsing is the identity', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000_000_00, max: 1_000_000_000_00 }), (minor) => {
        assert.equal(toMinor(fromMinor(minor, 'USD'), 'USD'), minor);
      }),
    );
  });
});
