import type { Executor } from '../../db/index.ts';
import { isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { AuditEvent } from '../audit/index.ts';
import type { EntitlementService } from '../gateway/contract.ts';
import type { ModuleContext } from '../module-context.ts';
import type { EntitlementActor, EntitlementAdmin, EntitlementGrant } from './contract.ts';
import {
  ANY_RESOURCE,
  checkName,
  checkResourceId,
  checkSubject,
  type SubjectGrants,
  toGrant,
  toSubjectGrants,
  validateGrant,
} from './entitlement-rules.ts';
import { createEntitlementsRepository, type EntitlementRow } from './entitlements-repository.ts';

export { ANY_RESOURCE } from './entitlement-rules.ts';

/** Change-feed topic; the key is the subject whose entitlements changed (`*` = everyone). */
export const ENTITLEMENT_TOPIC = 'entitlement';

const SYSTEM: EntitlementActor = { type: 'system' };

/** What a write changed, for its audit record (undefined: nothing changed, nothing to audit). */
type Change = Pick<AuditEvent, 'action' | 'target' | 'before' | 'after'> | undefined;

export interface EntitlementsOptions {
  /** How many subjects' entitlements stay cached in memory (oldest evicted first). Default 50,000. */
  maxCachedSubjects?: number;
}

/**
 * Entitlements: (subject, resource type, resource id or `*`, permissions, relationship). Reads are served
 * from an in-memory cache of each subject's whole set, so the gateway's steady-state hot path does no
 * database round trip; writes invalidate it locally and, through the change feed (topic `entitlement`,
 * key = subject), in every other process within a poll interval.
 */
export function createEntitlements(
  context: ModuleContext,
  options: EntitlementsOptions = {},
): EntitlementService & Omit<EntitlementAdmin, 'list'> & EntitlementsExtras {
  const { db, changes, clock, audit } = context;
  const repository = createEntitlementsRepository(context.store.dialect);
  const maxCached = options.maxCachedSubjects ?? 50_000;
  const cache = new Map<string, SubjectGrants>();
  const loading = new Map<string, Promise<SubjectGrants>>();
  // Bumped on every invalidation: a load that started before one must not be cached (it may be stale).
  let epoch = 0;

  const invalidate = (subject: string) => {
    epoch++;
    if (subject === ANY_RESOURCE) {
      cache.clear();
      loading.clear();
    } else {
      cache.delete(subject);
      loading.delete(subject);
    }
  };
  changes.subscribe(ENTITLEMENT_TOPIC, (change) => invalidate(change.key));
  changes.onResync(() => invalidate(ANY_RESOURCE));

  const load = (subject: string): SubjectGrants | Promise<SubjectGrants> => {
    const cached = cache.get(subject);
    if (cached) return cached;
    let pending = loading.get(subject);
    if (!pending) {
      const startedAt = epoch;
      pending = repository.forSubject(db, subject).then((rows) => {
        const grants = toSubjectGrants(rows);
        if (loading.get(subject) === pending) loading.delete(subject);
        if (epoch === startedAt) {
          if (cache.size >= maxCached) {
            const oldest = cache.keys().next().value;
            if (oldest !== undefined) cache.delete(oldest);
          }
          cache.set(subject, grants);
        }
        return grants;
      });
      loading.set(subject, pending);
      // A failed load is not cached; the next call retries.
      pending.catch(() => {
        if (loading.get(subject) === pending) loading.delete(subject);
      });
    }
    return pending;
  };

  const hasIn = (grants: SubjectGrants, type: string, id: string, permission: string): boolean => {
    const forType = grants.get(type);
    if (!forType) return false;
    return forType.any.has(permission) || forType.byId.get(id)?.has(permission) === true;
  };

  const idsIn = (grants: SubjectGrants, type: string, permission: string): '*' | ReadonlySet<string> => {
    const forType = grants.get(type);
    if (!forType) return EMPTY;
    if (forType.any.has(permission)) return ANY_RESOURCE;
    const ids = new Set<string>();
    for (const [id, permissions] of forType.byId) if (permissions.has(permission)) ids.add(id);
    return ids;
  };

  /**
   * Run `work` in the caller's transaction, or in a new one, with its audit record and change-feed entry;
   * invalidate after it (and on commit, through the feed).
   */
  const write = async (
    subject: string,
    executor: Executor | undefined,
    actor: EntitlementActor,
    work: (trx: Executor) => Promise<Change>,
  ) => {
    const run = async (trx: Executor) => {
      const change = await work(trx);
      if (!change) return;
      const { requestId, ...who } = actor;
      await audit.record({ actor: who, requestId, ...change }, trx);
      await changes.publish(ENTITLEMENT_TOPIC, subject, trx);
    };
    if (executor?.isTransaction) {
      await run(executor);
      // The caller's transaction has not committed yet: drop the cache now, and the change feed drops it
      // again once the commit is visible.
      invalidate(subject);
      return;
    }
    await (executor ?? db).transaction().execute(run);
    invalidate(subject);
  };

  /** Merge `grant` into its row (insert or update), inside `trx`; what changed. */
  const merge = async (trx: Executor, grant: EntitlementGrant): Promise<Change> => {
    const now = isoAt(clock.now());
    const target = { type: grant.resource, id: grant.resourceId };
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await repository.findForUpdate(trx, grant);
      if (existing) {
        const before = toGrant(existing);
        const merged = [...new Set([...before.permissions, ...grant.permissions])].sort();
        await repository.update(trx, existing.id, {
          permissions_json: JSON.stringify(merged),
          relationship: grant.relationship,
          updated_at: now,
        });
        const after = { ...before, permissions: merged, relationship: grant.relationship };
        return { action: 'entitlement.granted', target, before, after };
      }
      const permissions = [...new Set(grant.permissions)].sort();
      const inserted = await repository.insertIfAbsent(trx, {
        id: newId('ent'),
        subject: grant.subject,
        resource: grant.resource,
        resource_id: grant.resourceId,
        permissions_json: JSON.stringify(permissions),
        relationship: grant.relationship,
        created_at: now,
        updated_at: now,
      });
      if (inserted) return { action: 'entitlement.granted', target, after: { ...grant, permissions } };
      // Lost a race with a concurrent first grant: merge into the row it created.
    }
    throw new Error('entitlement grant did not converge');
  };

  return {
    has(subject, type, id, permission) {
      const grants = load(subject);
      if (grants instanceof Map) return Promise.resolve(hasIn(grants, type, id, permission));
      return grants.then((g) => hasIn(g, type, id, permission));
    },

    ids(subject, type, permission) {
      const grants = load(subject);
      if (grants instanceof Map) return Promise.resolve(idsIn(grants, type, permission));
      return grants.then((g) => idsIn(g, type, permission));
    },

    hasCached(subject, type, id, permission) {
      const grants = cache.get(subject);
      return grants ? hasIn(grants, type, id, permission) : undefined;
    },

    async grant(grant, executor, actor = SYSTEM) {
      const clean = validateGrant(grant);
      await write(clean.subject, executor, actor, (trx) => merge(trx, clean));
    },

    async revoke(target, executor, actor = SYSTEM) {
      const subject = checkSubject(target.subject);
      const resource = checkName('resource', target.resource);
      const resourceId = checkResourceId(target.resourceId);
      const permissions = target.permissions?.map((p) => checkName('permission', p));
      await write(subject, executor, actor, async (trx) => {
        const existing = await repository.findForUpdate(trx, { subject, resource, resourceId });
        if (!existing) return undefined;
        const before = toGrant(existing);
        const remaining = permissions ? before.permissions.filter((p) => !permissions.includes(p)) : [];
        if (remaining.length === 0) await repository.delete(trx, existing.id);
        else
          await repository.update(trx, existing.id, {
            permissions_json: JSON.stringify(remaining),
            relationship: existing.relationship,
            updated_at: isoAt(clock.now()),
          });
        const after = remaining.length === 0 ? undefined : { ...before, permissions: remaining };
        return { action: 'entitlement.revoked', target: { type: resource, id: resourceId }, before, after };
      });
    },

    async list(filter) {
      const limit = Math.min(Math.max(1, filter.limit ?? 10_000), 100_000);
      const rows = await repository.list(db, { ...filter, limit });
      return rows.map(toGrant);
    },

    async importGrants(grants, executor = db, actor = SYSTEM) {
      const now = isoAt(clock.now());
      const rows: EntitlementRow[] = grants.map((grant) => {
        const clean = validateGrant(grant);
        return {
          id: newId('ent'),
          subject: clean.subject,
          resource: clean.resource,
          resource_id: clean.resourceId,
          permissions_json: JSON.stringify([...new Set(clean.permissions)].sort()),
          relationship: clean.relationship,
          created_at: now,
          updated_at: now,
        };
      });
      const { requestId, ...who } = actor;
      const run = async (trx: Executor) => {
        await repository.insertMany(trx, rows);
        // One record for the batch: a bulk import is one decision, and its rows are its detail.
        await audit.record(
          {
            actor: who,
            action: 'entitlement.imported',
            target: { type: 'entitlement', id: ANY_RESOURCE },
            after: { count: rows.length },
            requestId,
          },
          trx,
        );
        await changes.publish(ENTITLEMENT_TOPIC, ANY_RESOURCE, trx);
      };
      await (executor.isTransaction ? run(executor) : executor.transaction().execute(run));
      invalidate(ANY_RESOURCE);
    },

    cacheStats() {
      return { subjects: cache.size, max: maxCached };
    },
  };
}

/** Beyond the cross-module contract: helpers for the gateway's hot path, seeding and operations. */
export interface EntitlementsExtras {
  /** Synchronous answer when the subject is cached; undefined when a load is needed. */
  hasCached(subject: string, type: string, id: string, permission: string): boolean | undefined;
  list(filter: {
    subject?: string;
    resource?: string;
    resourceId?: string;
    /** Default 10,000; at most 100,000. */
    limit?: number;
  }): Promise<EntitlementGrant[]>;
  /** Bulk insert of grants that do not exist yet (seeding, benchmarks); one change for everyone. */
  importGrants(grants: EntitlementGrant[], executor?: Executor, actor?: EntitlementActor): Promise<void>;
  cacheStats(): { subjects: number; max: number };
}

const EMPTY: ReadonlySet<string> = new Set();
