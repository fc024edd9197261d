import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Conformance, createConformance, type InjectedAnswer } from '../helpers/conformance.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/** The conformance check itself: it must catch what it exists to catch. */
describe('response conformance check', () => {
  let t: TestApp;
  let conformance: Conformance;
  let refused: InjectedAnswer;
  before(async () => {
    t = await createTestApp();
    conformance = createConformance(t.app);
    refused = await t.app.http.inject({ method: 'GET', url: '/products/products' });
    assert.equal(refused.statusCode, 401);
  });
  after(() => t.close());

  const variant = (changes: Partial<InjectedAnswer>): InjectedAnswer => ({ ...refused, ...changes });

  test('accepts an answer its operation declares', () => {
    conformance.assertConforms(refused);
  });

  test('refuses a status the operation does not declare', () => {
    assert.throws(
      () => conformance.assertConforms(variant({ statusCode: 418 })),
      /answered 418, which its document/,
    );
  });

  test('refuses a content type the response does not declare', () => {
    assert.throws(
      () =>
        conformance.assertConforms(variant({ headers: { ...refused.headers, 'content-type': 'text/html' } })),
      /answered text\/html; the document declares application\/problem\+json/,
    );
  });

  test('refuses a body that breaks the response schema', () => {
    const { id: _dropped, ...body } = JSON.parse(refused.body) as Record<string, unknown>;
    assert.throws(
      () => conformance.assertConforms(variant({ body: JSON.stringify({ ...body, status: '401' }) })),
      (error: Error) =>
        /must have required property 'id'/.test(error.message) &&
        /\/status must be integer/.test(error.message),
    );
  });

  test('leaves answers outside every operation alone (unknown paths, preflights)', () => {
    conformance.assertConforms(
      variant({ statusCode: 418, raw: { req: { method: 'GET', url: '/products/nothing/here' } } }),
    );
    conformance.assertConforms(
      variant({ statusCode: 418, raw: { req: { method: 'OPTIONS', url: '/products/products' } } }),
    );
  });
});
