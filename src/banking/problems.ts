import type { ProblemCatalogueEntries } from '../errors/index.ts';

/** The banking APIs' domain problem types (Apiture's names); `createApp` adds them to the app's catalogue. */
export const BANKING_PROBLEM_TYPES = {
  invalidAccountId: {
    status: 422,
    title: 'Invalid account',
    description:
      'An account the request refers to does not exist, is closed, or is not available to the user.',
  },
  cannotTransferFrom: {
    status: 403,
    title: 'Cannot transfer from this account',
    description: 'The user can see the source account but may not move money out of it (no transferFrom).',
  },
  cannotTransferTo: {
    status: 403,
    title: 'Cannot transfer to this account',
    description: 'The user can see the target account but may not move money into it (no transferTo).',
  },
  cannotViewAccountNumber: {
    status: 403,
    title: 'Cannot view the account number',
    description:
      'The full account number needs the viewAccountNumber entitlement; ask without unmasked=true.',
  },
  invalidAmount: {
    status: 422,
    title: 'Invalid amount',
    description:
      'The amount is not a positive decimal with at most the currency’s minor digits, or is below the product’s minimum opening deposit.',
  },
  sameAccount: {
    status: 422,
    title: 'Source and target are the same account',
    description: 'A transfer moves money between two different accounts.',
  },
  currencyMismatch: {
    status: 422,
    title: 'Currency mismatch',
    description: 'The amount’s currency is not the currency of the accounts (or of the product) involved.',
  },
  invalidScheduleDate: {
    status: 422,
    title: 'Invalid schedule date',
    description:
      'A transfer’s start date lies between today (in the institution’s time zone) and the furthest date transfers may be scheduled.',
  },
  idempotencyKeyReused: {
    status: 422,
    title: 'Idempotency key reused with a different request',
    description:
      'This Idempotency-Key was already used for a different request; use a new key for a new request.',
  },
  transferNotCancelable: {
    status: 409,
    title: 'The transfer can no longer be canceled',
    description:
      'Only a scheduled transfer can be canceled; this one is already processing, processed or canceled.',
  },
  invalidProductId: {
    status: 422,
    title: 'Invalid product',
    description: 'The product the application refers to does not exist or is not offered.',
  },
  applicationNotPending: {
    status: 409,
    title: 'The application is not awaiting a decision',
    description: 'Only a pending account application can be approved or rejected.',
  },
  applicationClosed: {
    status: 409,
    title: 'The application no longer accepts documents',
    description: 'Documents can be added to an account application only while it is pending.',
  },
  invalidDocument: {
    status: 422,
    title: 'Invalid document',
    description:
      'The document is empty, too large or not what its media type says; the identity document has expired; or the application already holds its maximum number of documents.',
  },
} as const satisfies ProblemCatalogueEntries;

type BankingProblemTypes = typeof BANKING_PROBLEM_TYPES;

declare module '../errors/index.ts' {
  interface ProblemTypes extends BankingProblemTypes {}
}
