import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REDACTED, redactSecrets } from './logger.ts';

describe('redaction on the hot path', () => {
  test('a line without secrets is logged as is (no copy per request)', () => {
    const line = { method: 'GET', route: '/x', status: 200, durationMs: 0.4, apiKeyId: 'key_1' };
    assert.equal(redactSecrets(line), line);
  });

  test('a secret at any depth still gets a redacted copy, the original untouched', () => {
    const line = { request: { headers: { authorization: 'Bearer abc', accept: '*/*' } }, ok: true };
    const out = redactSecrets(line) as typeof line;
    assert.notEqual(out, line);
    assert.equal(out.request.headers.authorization, REDACTED);
    assert.equal(out.request.headers.accept, '*/*');
    assert.equal(line.request.headers.authorization, 'Bearer abc');
  });
});
