/**
 * Tables owned by the banking module (see the conventions in foundation.ts). Money is stored as integer
 * minor units (`*_minor`), never as floating point; calendar dates are `YYYY-MM-DD` text.
 */
export interface BankingProductTable {
  id: string;
  /** checking, savings, moneyMarket, cd, business */
  category: string;
  name: string;
  description: string;
  currency: string;
  /** Annual percentage yield as a decimal string, e.g. `4.25`. */
  apy: string;
  minimum_opening_deposit_minor: number;
  monthly_fee_minor: number;
  /** Term of certificates of deposit; null otherwise. */
  term_months: number | null;
  is_business: number;
  created_at: string;
}

export interface BankingAccountTable {
  id: string;
  product_id: string;
  /** Display name ("Everyday Checking", "Carol's Bakery LLC"). */
  name: string;
  /** Full account number; only shown unmasked with the `viewAccountNumber` entitlement. */
  account_number: string;
  routing_number: string;
  currency: string;
  current_minor: number;
  available_minor: number;
  /** open, closed */
  state: string;
  opened_at: string;
  updated_at: string;
  /** Incremented on every change; the ETag. */
  revision: number;
  /** `production` | `sandbox` (DESIGN.md §5.4); migration 011, default `production`. */
  environment: string;
}

export interface BankingTransactionTable {
  id: string;
  account_id: string;
  /** Posting date in the institution's time zone. */
  posted_on: string;
  occurred_at: string;
  /** debit, credit */
  type: string;
  /** Always positive; `type` says the direction. */
  amount_minor: number;
  balance_after_minor: number;
  description: string;
  category: string;
  /** The transfer that posted it: a unique index on (transfer_id, type) makes double-posting impossible. */
  transfer_id: string | null;
  /** Insertion order tiebreaker for transactions with the same timestamp. */
  sequence: number;
}

export interface BankingTransferTable {
  id: string;
  /** The user who scheduled it. */
  created_by: string;
  client_id: string;
  source_account_id: string;
  target_account_id: string;
  amount_minor: number;
  currency: string;
  start_on: string;
  frequency: string;
  memo: string | null;
  /** scheduled, processing, processed, failed, canceled */
  state: string;
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
  /** When a processor claimed it (a stale claim is taken over after a timeout). */
  claimed_at: string | null;
  claimed_by: string | null;
  processed_at: string | null;
  revision: number;
}

/** First results of `POST /transfers/scheduledTransfers`, keyed by the caller and its Idempotency-Key. */
export interface BankingIdempotencyTable {
  scope: string;
  idempotency_key: string;
  request_hash: string;
  status: number;
  response_json: string;
  created_at: string;
}

export interface BankingApplicationTable {
  id: string;
  applicant_id: string;
  product_id: string;
  /** incomplete, pending, approved, rejected, expired */
  state: string;
  applicant_json: string;
  identity_document_json: string;
  initial_deposit_minor: number;
  currency: string;
  decision_reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
  account_id: string | null;
  created_at: string;
  updated_at: string;
  /** Incomplete applications expire 30 days after creation. */
  expires_at: string;
  revision: number;
  /** `production` | `sandbox` (DESIGN.md §5.4); migration 011, default `production`. */
  environment: string;
}

export interface BankingApplicationDocumentTable {
  id: string;
  application_id: string;
  kind: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  /** The file, base64, sealed with the key-encryption key (identity documents are sensitive). */
  content_sealed: string;
  uploaded_at: string;
}

export interface BankingTables {
  banking_products: BankingProductTable;
  banking_accounts: BankingAccountTable;
  banking_transactions: BankingTransactionTable;
  banking_transfers: BankingTransferTable;
  banking_idempotency: BankingIdempotencyTable;
  banking_applications: BankingApplicationTable;
  banking_application_documents: BankingApplicationDocumentTable;
}
