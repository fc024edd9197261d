import type { Executor } from '../../db/index.ts';
import { AppError } from '../../errors/index.ts';
import type { OperationHandler } from '../../modules/gateway/contract.ts';
import { checkIfMatch, collection, pageOf, userOf } from '../http-util.ts';
import type { TransfersRepository } from './transfers-repository.ts';
import type { NewTransfer, TransfersService } from './transfers-service.ts';

const notFound = () => new AppError('notFound', { detail: 'The requested resource does not exist.' });

/** Handlers of the Transfers API. */
export function createTransfersHandlers(deps: {
  db: Executor;
  service: TransfersService;
  transfers: TransfersRepository;
}): Record<string, OperationHandler> {
  const { db, service, transfers } = deps;

  /** A transfer is visible through its source account (404 otherwise, like a missing one). */
  async function sourceAccountEntitled(
    call: Parameters<OperationHandler>[0],
    transferId: string | undefined,
    permission: string,
  ) {
    userOf(call);
    // Only transfers from accounts of the calling application's environment exist for it (§5.4).
    const environment = call.key.environment ?? 'production';
    const source = transferId ? await transfers.sourceAccountOf(db, transferId, environment) : undefined;
    if (!source || !(await call.entitlements.has('account', source, permission))) throw notFound();
    return transferId as string;
  }

  return {
    async getScheduledTransfers(call) {
      userOf(call);
      const page = pageOf(call.query);
      const state = typeof call.query.state === 'string' ? call.query.state : undefined;
      const visible = await call.entitlements.ids('account', 'view');
      const environment = call.key.environment ?? 'production';
      const { items, count } = await service.list(visible, { state, environment }, page);
      return {
        status: 200,
        body: collection(items, page, count, '/transfers/scheduledTransfers', { state }),
        headers: { 'cache-control': 'no-store' },
      };
    },

    async createScheduledTransfer(call) {
      const userId = userOf(call);
      const key = call.headers['idempotency-key'];
      if (!key || !/^[A-Za-z0-9_.:-]{1,64}$/.test(key)) {
        throw new AppError('badRequest', {
          detail: 'An Idempotency-Key header (1–64 characters) is required.',
          errors: [{ in: 'header', name: 'Idempotency-Key', message: 'is required' }],
        });
      }
      const result = await service.create(
        {
          userId,
          environment: call.key.environment,
          clientId: call.principal?.clientId ?? call.key.clientId,
          entitlements: call.entitlements,
          now: call.now,
        },
        key,
        call.body as NewTransfer,
      );
      return {
        status: result.status,
        body: result.body,
        headers: {
          location: `/transfers/scheduledTransfers/${result.body.id}`,
          etag: result.etag,
          ...(result.replayed ? { 'idempotency-replayed': 'true' } : {}),
        },
      };
    },

    async getScheduledTransfer(call) {
      const id = await sourceAccountEntitled(call, call.params.transferId, 'view');
      const { body, etag } = await service.get(id);
      return { status: 200, body, headers: { etag, 'cache-control': 'no-store' } };
    },

    async deleteScheduledTransfer(call) {
      const id = await sourceAccountEntitled(call, call.params.transferId, 'transferFrom');
      await service.cancel(id, call.now, (etag) => checkIfMatch(call.headers['if-match'], etag));
      return { status: 204 };
    },
  };
}
