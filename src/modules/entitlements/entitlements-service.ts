import { AppError } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import { isOpaqueId, newId } from '../../lib/ids.ts';
import type { EntitlementService } from '../gateway/contract.ts';
import type { ModuleContext } from '../module-context.ts';
import type { EntitlementAdmin, EntitlementGrant } from './contract.ts';
import {
  createEntitlementsRepository,
  type EntitlementRow,
  type Executor,
} from './entitlements-repository.ts';

/** Change-feed topic; the key is the subject whose entitlements changed (`*` = everyone). */
export const ENTITLEMENT_TOPIC = 'entitlement';

/** Institution-wide grants use this resource id. */
export const ANY_RESOURCE = '*';

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const SUBJECT = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** What one subject holds on one resource type: institution-wide permissions and per-id permissions. */
interface ResourceGrants {
  any: Set<string>;
  byId: Map<string, Set<string>>;
}
type SubjectGrants = Map<string, ResourceGrants>;

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
  const { db, changes, clock } = context;
  const repository = createEntitlementsRepository({ db, dialect: context.store.dialect });
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

  const load = (subject: string): SubjectGrants | Promise<SubjectGrants> => {
    const cached = cache.get(subject);
    if (cached) return cached;
    let pending = loading.get(subject);
    if (!pending) {
      const startedAt = epoch;
      pending = repository.forSubject(subject).then((rows) => {
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

  /** Run `work` in the caller's transaction, or in a new one; invalidate after it (and on commit, via the feed). */
  const write = async (
    subject: string,
    executor: Executor | undefined,
    work: (trx: Executor) => Promise<void>,
  ) => {
    if (executor?.isTransaction) {
      await work(executor);
      await changes.publish(ENTITLEMENT_TOPIC, subject, executor);
      // The caller's transaction has not committed yet: drop the cache now, and the change feed drops it
      // again once the commit is visible.
      invalidate(subject);
      return;
    }
    await (executor ?? db).transaction().execute(async (trx) => {
      await work(trx);
      await changes.publish(ENTITLEMENT_TOPIC, subject, trx);
    });
    invalidate(subject);
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

    async grant(grant, executor) {
      const clean = validateGrant(grant);
      await write(clean.subject, executor, async (trx) => {
        const now = isoAt(clock.now());
        for (let attempt = 0; attempt < 3; attempt++) {
          const existing = await repository.findForUpdate(trx, clean);
          if (existing) {
            const merged = [
              ...new Set([...parsePermissions(existing.permissions_json), ...clean.permissions]),
            ].sort();
            await repository.update(trx, existing.id, {
              permissions_json: JSON.stringify(merged),
              relationship: clean.relationship,
              updated_at: now,
            });
            return;
          }
          const inserted = await repository.insertIfAbsent(trx, {
            id: newId('ent'),
            subject: clean.subject,
            resource: clean.resource,
            resource_id: clean.resourceId,
            permissions_json: JSON.stringify([...new Set(clean.permissions)].sort()),
            relationship: clean.relationship,
            created_at: now,
            updated_at: now,
          });
          // Lost a race with a concurrent first grant: merge into the row it created.
          if (inserted) return;
        }
        throw new Error('entitlement grant did not converge');
      });
    },

    async revoke(target, executor) {
      const subject = checkSubject(target.subject);
      const resource = checkName('resource', target.resource);
      const resourceId = checkResourceId(target.resourceId);
      const permissions = target.permissions?.map((p) => checkName('permission', p));
      await write(subject, executor, async (trx) => {
        const existing = await repository.findForUpdate(trx, { subject, resource, resourceId });
        if (!existing) return;
        const remaining = permissions
          ? parsePermissions(existing.permissions_json).filter((p) => !permissions.includes(p))
          : [];
        if (remaining.length === 0) await repository.delete(trx, existing.id);
        else
          await repository.update(trx, existing.id, {
            permissions_json: JSON.stringify(remaining),
            relationship: existing.relationship,
            updated_at: isoAt(clock.now()),
          });
      });
    },

    async list(filter) {
      const limit = Math.min(Math.max(1, filter.limit ?? 10_000), 100_000);
      const rows = await repository.list({ ...filter, limit });
      return rows.map(toGrant);
    },

    async importGrants(grants, executor = db) {
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
      await repository.insertMany(executor, rows);
      await changes.publish(ENTITLEMENT_TOPIC, ANY_RESOURCE, executor);
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
  importGrants(grants: EntitlementGrant[], executor?: Executor): Promise<void>;
  cacheStats(): { subjects: number; max: number };
}

const EMPTY: ReadonlySet<string> = new Set();

function toSubjectGrants(rows: { resource: string; resource_id: string; permissions_json: string }[]) {
  const grants: SubjectGrants = new Map();
  for (const row of rows) {
    let forType = grants.get(row.resource);
    if (!forType) {
      forType = { any: new Set(), byId: new Map() };
      grants.set(row.resource, forType);
    }
    const permissions = parsePermissions(row.permissions_json);
    if (row.resource_id === ANY_RESOURCE) for (const p of permissions) forType.any.add(p);
    else forType.byId.set(row.resource_id, new Set(permissions));
  }
  return grants;
}

function parsePermissions(json: string): string[] {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string') : [];
}

function toGrant(row: EntitlementRow): EntitlementGrant {
  return {
    subject: row.subject,
    resource: row.resource,
    resourceId: row.resource_id,
    permissions: parsePermissions(row.permissions_json),
    relationship: row.relationship,
  };
}

function validateGrant(grant: EntitlementGrant): EntitlementGrant {
  if (!Array.isArray(grant.permissions) || grant.permissions.length === 0) {
    throw new AppError('badRequest', { detail: 'An entitlement needs at least one permission.' });
  }
  return {
    subject: checkSubject(grant.subject),
    resource: checkName('resource', grant.resource),
    resourceId: checkResourceId(grant.resourceId),
    permissions: grant.permissions.map((p) => checkName('permission', p)),
    relationship: checkName('relationship', grant.relationship),
  };
}

function checkSubject(subject: string): string {
  if (typeof subject !== 'string' || !SUBJECT.test(subject)) {
    throw new AppError('badRequest', { detail: 'The entitlement subject is not a valid user or client id.' });
  }
  return subject;
}

function checkName(what: string, value: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new AppError('badRequest', {
      detail: `The ${what} name must start with a letter and use at most 64 letters, digits, '_' or '-'.`,
    });
  }
  return value;
}

function checkResourceId(value: string): string {
  if (value !== ANY_RESOURCE && !isOpaqueId(value)) {
    throw new AppError('badRequest', {
      detail: "The resource id must be '*' or at most 64 characters of [A-Za-z0-9_-].",
    });
  }
  return value;
}
