import type { Kysely } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import { type Clock, isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';

/** Who can act (the `actor_type` column is constrained to these, migration 007). */
export const ACTOR_TYPES = ['user', 'client', 'system', 'cli'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/** One security or lifecycle event: who did what to which thing, when, why, and what changed. */
export interface AuditEvent {
  actor: { type: ActorType; id?: string | null };
  /** Dotted verb, e.g. `apiKey.revoked`, `user.locked`, `grant.revoked`. */
  action: string;
  target: { type: string; id?: string | null };
  reason?: string | null;
  /** Snapshots without secrets (hashes included: never put a hash here either). */
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
}

export interface AuditEntry extends AuditEvent {
  id: string;
  occurredAt: string;
}

/** The append-only audit log. Pass the transaction that makes the change so both commit together. */
export function createAuditLog(deps: { db: Kysely<Database>; clock: Clock }) {
  const { db, clock } = deps;
  return {
    async record(event: AuditEvent, executor: Executor = db): Promise<string> {
      const id = newId('aud');
      await executor
        .insertInto('audit_log')
        .values({
          id,
          occurred_at: isoAt(clock.now()),
          actor_type: event.actor.type,
          actor_id: event.actor.id ?? null,
          action: event.action,
          target_type: event.target.type,
          target_id: event.target.id ?? null,
          reason: event.reason ?? null,
          before_json: event.before === undefined ? null : JSON.stringify(event.before),
          after_json: event.after === undefined ? null : JSON.stringify(event.after),
          request_id: event.requestId ?? null,
        })
        .execute();
      return id;
    },

    /** Newest first. */
    async list(
      filter: { targetType?: string; targetId?: string; action?: string; limit?: number } = {},
    ): Promise<AuditEntry[]> {
      let query = db.selectFrom('audit_log').selectAll().orderBy('occurred_at', 'desc').orderBy('id', 'desc');
      if (filter.targetType) query = query.where('target_type', '=', filter.targetType);
      if (filter.targetId) query = query.where('target_id', '=', filter.targetId);
      if (filter.action) query = query.where('action', '=', filter.action);
      const rows = await query.limit(Math.min(filter.limit ?? 100, 1000)).execute();
      return rows.map((row) => ({
        id: row.id,
        occurredAt: row.occurred_at,
        actor: { type: row.actor_type as ActorType, id: row.actor_id },
        action: row.action,
        target: { type: row.target_type, id: row.target_id },
        reason: row.reason,
        before: row.before_json ? JSON.parse(row.before_json) : undefined,
        after: row.after_json ? JSON.parse(row.after_json) : undefined,
        requestId: row.request_id,
      }));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
