import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadBankingDocument } from '../../src/banking/index.ts';
import type { ApiModule, OperationHandler } from '../../src/modules/gateway/contract.ts';
import { normalized } from '../helpers/assertions.ts';
import { testDialects } from '../helpers/test-app.ts';
import { createGatewayHarness, type GatewayHarness, verifiedKey } from './gateway-harness.ts';

/** A banking API with its real document and handlers that answer 200 once the gateway let a call through. */
function realDocument(name: 'transactions' | 'transfers'): ApiModule {
  const document = loadBankingDocument(name);
  const handlers: Record<string, OperationHandler> = {};
  for (const item of Object.values(document.paths as Record<string, Record<string, unknown>>)) {
    for (const operation of Object.values(item)) {
      const id = (operation as { operationId?: string }).operationId;
      if (id) handlers[id] = async () => ({ status: 200, body: { ok: true } });
    }
  }
  return { name, document, handlers, resolvers: { transferSourceAccount: async (id) => id } };
}

// Issue 10 #14: an id position answers as "does not exist", never with the schema's 400.
for (const dialect of testDialects()) {
  describe(`malformed ids in query and body positions (${dialect})`, () => {
    let h: GatewayHarness;
    let token: string;
    before(async () => {
      h = await createGatewayHarness({
        dialect,
        apis: [realDocument('transactions'), realDocument('transfers')],
      });
      h.keys.set('good', { ok: true, key: verifiedKey() });
      await h.t.app.services.entitlements.grant({
        subject: 'usr_alice',
        resource: 'account',
        resourceId: 'acc1',
        permissions: ['view', 'transferFrom', 'transferTo'],
        relationship: 'owner',
      });
      token = await h.sign({ scope: 'banking/read banking/write' });
    });
    after(() => h.close());

    const transactions = (account: string) =>
      h.http.inject({
        method: 'GET',
        url: `/transactions/transactions?account=${account}`,
        headers: { 'api-key': 'good', authorization: `Bearer ${token}` },
      });

    test('?account=<id>%00 is 404, the same answer as an unknown account', async () => {
      const nul = await transactions('acc1%00');
      assert.equal(nul.statusCode, 404);
      assert.equal(nul.json().type, 'https://gw.test/errors/notFound');
      const unknown = await transactions('acc_unknown');
      assert.equal(unknown.statusCode, 404);
      assert.deepEqual(normalized(nul), normalized(unknown));
      assert.equal((await transactions('acc1')).statusCode, 200, 'the well-formed id passes');
    });

    const transfer = (sourceId: string) =>
      h.http.inject({
        method: 'POST',
        url: '/transfers/scheduledTransfers',
        headers: {
          'api-key': 'good',
          authorization: `Bearer ${token}`,
          'idempotency-key': `k-${sourceId.length}-${Math.random().toString(36).slice(2)}`,
          'content-type': 'application/json',
        },
        payload: {
          sourceAccount: { id: sourceId },
          targetAccount: { id: 'acc1' },
          amount: { value: '10.00', currency: 'USD' },
          schedule: { start: '2026-12-31' },
        },
      });

    test('a pattern-invalid account id in a transfer body is 422 invalidAccountId', async () => {
      const response = await transfer('acc 1!');
      assert.equal(response.statusCode, 422);
      assert.equal(response.json().type, 'https://gw.test/errors/invalidAccountId');
      assert.equal(response.json().errors, undefined, 'no validation details: it is an unknown account');
      const unknown = await transfer('acc_unknown');
      assert.equal(unknown.statusCode, 422);
      assert.equal(unknown.json().detail, response.json().detail);
    });
  });
}
