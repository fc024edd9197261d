import { defineProblemTypes } from '../errors/index.ts';

/** The banking APIs' domain problem types (Apiture's names), registered once at load. */
defineProblemTypes({
  invalidAccountId: { status: 422, title: 'Invalid account' },
  cannotTransferFrom: { status: 403, title: 'Cannot transfer from this account' },
  cannotTransferTo: { status: 403, title: 'Cannot transfer to this account' },
  cannotViewAccountNumber: { status: 403, title: 'Cannot view the account number' },
  invalidAmount: { status: 422, title: 'Invalid amount' },
  sameAccount: { status: 422, title: 'Source and target are the same account' },
  currencyMismatch: { status: 422, title: 'Currency mismatch' },
  invalidScheduleDate: { status: 422, title: 'Invalid schedule date' },
  idempotencyKeyReused: { status: 422, title: 'Idempotency key reused with a different request' },
  transferNotCancelable: { status: 409, title: 'The transfer can no longer be canceled' },
  invalidProductId: { status: 422, title: 'Invalid product' },
  applicationNotPending: { status: 409, title: 'The application is not awaiting a decision' },
  applicationClosed: { status: 409, title: 'The application no longer accepts documents' },
  invalidDocument: { status: 422, title: 'Invalid document' },
});

export const BANKING_PROBLEMS_LOADED = true;
