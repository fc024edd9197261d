import type { Generated } from 'kysely';

/**
 * Conventions for every table (both dialects):
 * - timestamps are RFC 3339 UTC strings in `text` columns (`*_at`), so they sort and compare as text;
 * - booleans are `integer` 0/1 (`is_*`, `has_*`);
 * - JSON documents are `text` (`*_json`);
 * - money is an integer number of minor units in a `bigint` column;
 * - ids are opaque prefixed strings (`text` primary keys), except append-only logs.
 */
export interface ChangeLogTable {
  id: Generated<number>;
  /** What kind of thing changed, e.g. `apiKey`, `grant`, `role`, `signingKeys`. */
  topic: string;
  /** Which one (an id), or `*`. */
  key: string;
  created_at: string;
}

export interface AuditLogTable {
  id: string;
  occurred_at: string;
  /** `user`, `client`, `system`, `cli` (constrained by migration 007). */
  actor_type: string;
  actor_id: string | null;
  /** e.g. `apiKey.revoked`, `user.disabled`. */
  action: string;
  target_type: string;
  target_id: string | null;
  reason: string | null;
  before_json: string | null;
  after_json: string | null;
  request_id: string | null;
}

/** Institution-wide settings (lifetimes, thresholds, demo markers) as JSON values. */
export interface SettingsTable {
  key: string;
  value_json: string;
  updated_at: string;
}

/** Running processes (DESIGN.md §5.2): the fallback rate limits share a plan among the live ones. */
export interface InstancesTable {
  id: string;
  started_at: string;
  /** Database time of the last heartbeat. */
  heartbeat_at: string;
}

export interface FoundationTables {
  instances: InstancesTable;
  change_log: ChangeLogTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
}
