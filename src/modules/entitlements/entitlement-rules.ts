import { AppError } from '../../errors/index.ts';
import { isOpaqueId } from '../../lib/ids.ts';
import type { EntitlementGrant } from './contract.ts';
import type { EntitlementRow } from './entitlements-repository.ts';

/** Institution-wide grants use this resource id. */
export const ANY_RESOURCE = '*';

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const SUBJECT = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** What one subject holds on one resource type: institution-wide permissions and per-id permissions. */
interface ResourceGrants {
  any: Set<string>;
  byId: Map<string, Set<string>>;
}
export type SubjectGrants = Map<string, ResourceGrants>;

/** One subject's rows as the lookup structure the hot path reads. */
export function toSubjectGrants(rows: { resource: string; resource_id: string; permissions_json: string }[]) {
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

export function toGrant(row: EntitlementRow): EntitlementGrant {
  return {
    subject: row.subject,
    resource: row.resource,
    resourceId: row.resource_id,
    permissions: parsePermissions(row.permissions_json),
    relationship: row.relationship,
  };
}

/** The grant with every field checked (400 otherwise). */
export function validateGrant(grant: EntitlementGrant): EntitlementGrant {
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

export function checkSubject(subject: string): string {
  if (typeof subject !== 'string' || !SUBJECT.test(subject)) {
    throw new AppError('badRequest', { detail: 'The entitlement subject is not a valid user or client id.' });
  }
  return subject;
}

export function checkName(what: string, value: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new AppError('badRequest', {
      detail: `The ${what} name must start with a letter and use at most 64 letters, digits, '_' or '-'.`,
    });
  }
  return value;
}

export function checkResourceId(value: string): string {
  if (value !== ANY_RESOURCE && !isOpaqueId(value)) {
    throw new AppError('badRequest', {
      detail: "The resource id must be '*' or at most 64 characters of [A-Za-z0-9_-].",
    });
  }
  return value;
}
