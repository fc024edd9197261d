import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { AppError } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { EntitlementView } from '../../modules/gateway/contract.ts';
import type { AccountsRepository } from '../accounts/accounts-repository.ts';
import { addDays, dateIn, isCalendarDate } from '../calendar.ts';
import { etagOf } from '../http-util.ts';
import { type Money, money, toMinor } from '../money.ts';
import type { TransferRow, TransfersRepository } from './transfers-repository.ts';

export interface NewTransfer {
  sourceAccount: { id: string };
  targetAccount: { id: string };
  amount: Money;
  schedule: { start: string; frequency?: 'once' };
  memo?: string;
}

export interface Caller {
  userId: string;
  /** The calling application's environment: it may only use accounts of that environment (§5.4). */
  environment?: 'production' | 'sandbox';
  clientId: string;
  entitlements: EntitlementView;
  now: number;
}

/** How far ahead a transfer may be scheduled. */
const MAX_DAYS_AHEAD = 365;

function transferRepresentation(row: TransferRow) {
  return {
    id: row.id,
    sourceAccount: { id: row.source_account_id },
    targetAccount: { id: row.target_account_id },
    amount: money(Number(row.amount_minor), row.currency),
    schedule: { start: row.start_on, frequency: row.frequency as 'once' },
    ...(row.memo ? { memo: row.memo } : {}),
    state: row.state,
    ...(row.failure_reason ? { failureReason: row.failure_reason } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.processed_at ? { processedAt: row.processed_at } : {}),
    _links: { self: { href: `/transfers/scheduledTransfers/${row.id}` } },
  };
}

export type TransferRepresentation = ReturnType<typeof transferRepresentation>;

/** Scheduling, viewing and canceling transfers (the processor executes them). */
export function createTransfersService(deps: {
  db: Kysely<Database>;
  accounts: AccountsRepository;
  transfers: TransfersRepository;
  timeZone: string;
  /** Called after a transfer due today is scheduled, so it is processed right away. */
  onDueTransfer?: () => void;
}) {
  const { db, accounts, transfers, timeZone } = deps;

  /** Entitlement checks for a body reference (the gateway checks too; this keeps the rule next to the data). */
  async function checkReference(
    caller: Caller,
    accountId: string,
    permission: 'transferFrom' | 'transferTo',
  ) {
    const account = await accounts.find(db, accountId);
    const sameEnvironment = account?.environment === (caller.environment ?? 'production');
    if (!account || !sameEnvironment || !(await caller.entitlements.has('account', accountId, 'view'))) {
      throw new AppError('invalidAccountId', {
        detail: `The ${permission === 'transferFrom' ? 'source' : 'target'} account does not exist.`,
      });
    }
    if (!(await caller.entitlements.has('account', accountId, permission))) {
      throw new AppError(permission === 'transferFrom' ? 'cannotTransferFrom' : 'cannotTransferTo', {
        detail: `You may not transfer ${permission === 'transferFrom' ? 'from' : 'to'} this account.`,
      });
    }
    if (account.state !== 'open') {
      throw new AppError('invalidAccountId', { detail: 'The account is closed.' });
    }
    return account;
  }

  return {
    /**
     * Schedule a transfer. With an idempotency key seen before for this caller: the same body replays the
     * first result; a different body is 422. Returns the response to send.
     */
    async create(caller: Caller, idempotencyKey: string, input: NewTransfer) {
      const scope = `${caller.userId}:${caller.clientId}`;
      const requestHash = createHash('sha256').update(canonicalJson(input)).digest('hex');
      const previous = await transfers.findIdempotency(db, scope, idempotencyKey);
      if (previous) return replay(previous, requestHash);

      const source = await checkReference(caller, input.sourceAccount.id, 'transferFrom');
      const target = await checkReference(caller, input.targetAccount.id, 'transferTo');
      const amountMinor = toMinor(input.amount.value, input.amount.currency);
      if (amountMinor === undefined || amountMinor <= 0) {
        throw new AppError('invalidAmount', {
          detail: 'The amount must be a positive decimal with at most the currency’s minor digits.',
        });
      }
      if (source.id === target.id) {
        throw new AppError('sameAccount', { detail: 'The source and target accounts must differ.' });
      }
      if (input.amount.currency !== source.currency || input.amount.currency !== target.currency) {
        throw new AppError('currencyMismatch', {
          detail: `The amount's currency must be the accounts' currency (${source.currency}).`,
        });
      }
      const today = dateIn(timeZone, caller.now);
      const start = input.schedule.start;
      if (!isCalendarDate(start) || start < today || start > addDays(today, MAX_DAYS_AHEAD)) {
        throw new AppError('invalidScheduleDate', {
          detail: `The start date must be between ${today} and ${addDays(today, MAX_DAYS_AHEAD)}.`,
        });
      }

      const at = isoAt(caller.now);
      const row: TransferRow = {
        id: newId('xfr'),
        created_by: caller.userId,
        client_id: caller.clientId,
        source_account_id: source.id,
        target_account_id: target.id,
        amount_minor: amountMinor,
        currency: source.currency,
        start_on: start,
        frequency: input.schedule.frequency ?? 'once',
        memo: input.memo ?? null,
        state: 'scheduled',
        failure_reason: null,
        created_at: at,
        updated_at: at,
        claimed_at: null,
        claimed_by: null,
        processed_at: null,
        revision: 1,
      };
      const body = transferRepresentation(row);
      try {
        await db.transaction().execute(async (trx) => {
          await transfers.insert(trx, row);
          await transfers.insertIdempotency(trx, {
            scope,
            idempotency_key: idempotencyKey,
            request_hash: requestHash,
            status: 201,
            response_json: JSON.stringify(body),
            created_at: at,
          });
        });
      } catch (error) {
        // A concurrent request with the same key won the race: answer as its replay.
        const winner = await transfers.findIdempotency(db, scope, idempotencyKey);
        if (winner) return replay(winner, requestHash);
        throw error;
      }
      if (start <= today) deps.onDueTransfer?.();
      return { status: 201, body, etag: etagOf('xfr', row.id, row.revision), replayed: false };
    },

    async get(id: string) {
      const row = await transfers.find(db, id);
      if (!row) throw new AppError('notFound', { detail: 'The requested resource does not exist.' });
      return { body: transferRepresentation(row), etag: etagOf('xfr', row.id, row.revision) };
    },

    async list(
      visible: '*' | ReadonlySet<string>,
      filter: { state?: string; environment?: string },
      page: { start: number; limit: number },
    ) {
      const { rows, count } = await transfers.list(db, visible, filter, page);
      return { items: rows.map(transferRepresentation), count };
    },

    /** Cancel a scheduled transfer; `ifMatch` is checked against the current ETag (412). */
    async cancel(id: string, now: number, ifMatch?: (etag: string) => void) {
      const row = await transfers.find(db, id);
      if (!row) throw new AppError('notFound', { detail: 'The requested resource does not exist.' });
      ifMatch?.(etagOf('xfr', row.id, row.revision));
      if (row.state !== 'scheduled' || !(await transfers.cancel(db, id, row.revision, isoAt(now)))) {
        const current = await transfers.find(db, id);
        if (current && current.state === 'scheduled') {
          throw new AppError('preconditionFailed', { detail: 'The transfer changed; fetch it again.' });
        }
        throw new AppError('transferNotCancelable', {
          detail: `The transfer is ${current?.state ?? row.state} and can no longer be canceled.`,
        });
      }
    },
  };
}

function replay(previous: { request_hash: string; status: number; response_json: string }, hash: string) {
  if (previous.request_hash !== hash) {
    throw new AppError('idempotencyKeyReused', {
      detail: 'This Idempotency-Key was already used with a different request body.',
      remediation: 'Use a new Idempotency-Key for a different transfer.',
    });
  }
  const body = JSON.parse(previous.response_json) as TransferRepresentation;
  return { status: previous.status, body, etag: etagOf('xfr', body.id, 1), replayed: true };
}

/** JSON with sorted keys, so equal bodies hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export type TransfersService = ReturnType<typeof createTransfersService>;
