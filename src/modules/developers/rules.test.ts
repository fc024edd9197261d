import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../errors/index.ts';
import { ENVIRONMENTS } from './model.ts';
import {
  APP_TRANSITIONS,
  effectiveKeyState,
  fieldsSet,
  KEY_TRANSITIONS,
  oneOf,
  PRIVILEGED_FIELDS,
  rejectPrivileged,
  splitScopes,
  validateCorsOrigins,
  validateRedirectUris,
} from './rules.ts';

const isBadRequest = (field: string) => (error: unknown) =>
  error instanceof AppError && error.status === 400 && error.errors?.some((e) => e.name === field) === true;

describe('developers rules', () => {
  it('oneOf passes a listed value and refuses anything else with a 400 naming the field', () => {
    assert.equal(oneOf('environment', ENVIRONMENTS, 'production'), 'production');
    for (const value of ['bogus', 'Sandbox', '', undefined, 1])
      assert.throws(() => oneOf('environment', ENVIRONMENTS, value), isBadRequest('environment'));
  });

  it('a key past its expiry is expired, unless revoked; expired and revoked are final', () => {
    const at = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(
      effectiveKeyState({ state: 'active', expiresAt: '2026-01-01T00:00:00.000Z' }, at),
      'expired',
    );
    assert.equal(effectiveKeyState({ state: 'active', expiresAt: '2026-01-01T00:00:00.001Z' }, at), 'active');
    assert.equal(
      effectiveKeyState({ state: 'revoked', expiresAt: '2025-01-01T00:00:00.000Z' }, at),
      'revoked',
    );
    assert.deepEqual(KEY_TRANSITIONS.expired, []);
    assert.deepEqual(KEY_TRANSITIONS.revoked, []);
    assert.deepEqual(APP_TRANSITIONS.deleted, []);
  });

  it('refuses privileged fields from a developer but not from the institution', () => {
    const fields = fieldsSet(
      { name: 'x', environment: 'production', ratePlan: undefined },
      PRIVILEGED_FIELDS,
    );
    assert.deepEqual(fields, ['environment']);
    assert.throws(() => rejectPrivileged(fields, false), isBadRequest('environment'));
    assert.doesNotThrow(() => rejectPrivileged(fields, true));
  });

  it('grants a developer the default scopes and what was granted before; the rest waits for approval', () => {
    assert.deepEqual(splitScopes(['banking/read', 'admin/read', 'data/read'], false, ['admin/read']), {
      scopes: ['banking/read', 'admin/read'],
      requested: ['data/read'],
    });
    assert.deepEqual(splitScopes(['data/read'], true), { scopes: ['data/read'], requested: [] });
    assert.throws(() => splitScopes(['banking/everything'], true), isBadRequest('scopes'));
  });

  it('accepts https and native loopback or private-scheme redirects; refuses fragments and plain http', () => {
    assert.deepEqual(validateRedirectUris('web', ['https://app.example/cb']), []);
    assert.deepEqual(validateRedirectUris('native', ['http://127.0.0.1:8765/cb', 'com.example.app:/cb']), []);
    assert.equal(validateRedirectUris('web', ['http://app.example/cb']).length, 1);
    assert.equal(validateRedirectUris('web', ['https://app.example/cb#x']).length, 1);
    assert.equal(validateRedirectUris('service', ['https://app.example/cb']).length, 1);
  });

  it('accepts exact https origins for browser apps only', () => {
    assert.deepEqual(validateCorsOrigins('spa', ['https://app.example', 'http://localhost:3000']), []);
    assert.equal(validateCorsOrigins('spa', ['https://app.example/path']).length, 1);
    assert.equal(validateCorsOrigins('native', ['https://app.example']).length, 1);
  });
});
