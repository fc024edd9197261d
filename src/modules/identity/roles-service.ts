import type { Kysely } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import { type Clock, isoAt } from '../../lib/clock.ts';
import type { ChangeFeed } from '../../store/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { invalid, ROLE_CATEGORIES, type Role, type RoleCategory, SYSTEM_ACTOR } from './identity-model.ts';
import { type RoleRow, identityRepository as repository } from './identity-repository.ts';
import { isApiScope } from './scopes.ts';

/** The institution's default roles (DESIGN.md §3); editable afterwards (`roles set-scopes`). */
export const DEFAULT_ROLES: Role[] = [
  {
    name: 'customer',
    category: 'customer',
    description: 'Retail or business customer',
    // The same six scopes as DEFAULT_SCOPES (scopes.ts), on purpose spelled out: this is the institution's
    // editable default for a role, not the rule for what applications get without approval.
    scopes: [
      'banking/read',
      'banking/readBalance',
      'banking/write',
      'banking/delete',
      'profile/read',
      'profile/write',
    ],
    requiresMfa: false,
  },
  {
    name: 'teller',
    category: 'operator',
    description: 'Branch teller',
    scopes: ['banking/read', 'banking/readBalance', 'profile/read'],
    requiresMfa: true,
  },
  {
    name: 'depositAccountsManager',
    category: 'operator',
    description: 'Deposit accounts manager',
    scopes: ['data/read', 'data/write', 'profile/read'],
    requiresMfa: true,
  },
  {
    name: 'itManager',
    category: 'system',
    description: 'IT manager of a fintech organization',
    scopes: ['admin/read', 'admin/write'],
    requiresMfa: true,
  },
  {
    name: 'fiAdministrator',
    category: 'system',
    description: 'Financial institution administrator',
    scopes: ['admin/full', 'admin/read', 'admin/write', 'data/read'],
    requiresMfa: true,
  },
  {
    name: 'developer',
    category: 'customer',
    description: 'Self-registered developer of the portal',
    scopes: ['admin/read', 'admin/write'],
    requiresMfa: false,
  },
];

const ROLE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

function toRole(row: RoleRow): Role {
  return {
    name: row.name,
    category: row.category as RoleCategory,
    description: row.description,
    scopes: JSON.parse(row.scopes_json) as string[],
    requiresMfa: row.requires_mfa === 1,
  };
}

function toRow(role: Role, updatedAt: string): RoleRow {
  return {
    name: role.name,
    category: role.category,
    description: role.description,
    scopes_json: JSON.stringify([...new Set(role.scopes)]),
    requires_mfa: role.requiresMfa ? 1 : 0,
    updated_at: updatedAt,
  };
}

/** Roles and the scopes they grant; changes are audited and reach every process through the change feed. */
export function createRoles(deps: {
  db: Kysely<Database>;
  clock: Clock;
  audit: AuditLog;
  changes: ChangeFeed;
}) {
  const { db, clock, audit, changes } = deps;
  let defaultsReady: Promise<void> | undefined;
  const now = () => isoAt(clock.now());

  const service = {
    /** Create the default roles that do not exist yet (never overwrites the institution's edits). */
    ensureDefaults(): Promise<void> {
      defaultsReady ??= (async () => {
        for (const role of DEFAULT_ROLES) {
          if (await repository.findRole(db, role.name)) continue;
          await repository.upsertRole(db, toRow(role, now())).catch(async (error) => {
            // Another process created it concurrently.
            if (!(await repository.findRole(db, role.name))) throw error;
          });
        }
      })();
      defaultsReady.catch(() => {
        defaultsReady = undefined;
      });
      return defaultsReady;
    },

    /** 400 unless every role exists. */
    async checkExist(ex: Executor, roles: readonly string[]): Promise<void> {
      for (const role of roles)
        if (!(await repository.findRole(ex, role))) throw invalid(`Unknown role ${role}.`, 'roles');
    },

    /** True when one of the roles requires MFA. */
    async requireMfa(ex: Executor, roles: readonly string[]): Promise<boolean> {
      for (const name of roles) if ((await repository.findRole(ex, name))?.requires_mfa === 1) return true;
      return false;
    },

    /** Union of the scopes granted by the user's roles. */
    async scopesOf(userId: string): Promise<Set<string>> {
      const scopes = new Set<string>();
      for (const name of await repository.rolesOf(db, userId)) {
        const role = await repository.findRole(db, name);
        if (role) for (const scope of toRole(role).scopes) scopes.add(scope);
      }
      return scopes;
    },

    async list(): Promise<Role[]> {
      await service.ensureDefaults();
      return (await repository.listRoles(db)).map(toRole);
    },

    async get(name: string): Promise<Role | undefined> {
      await service.ensureDefaults();
      const row = await repository.findRole(db, name);
      return row ? toRole(row) : undefined;
    },

    async save(role: Role): Promise<Role> {
      if (!ROLE_NAME.test(role.name)) throw invalid('Invalid role name.', 'name');
      if (!(ROLE_CATEGORIES as readonly string[]).includes(role.category)) {
        throw invalid(`The category must be one of ${ROLE_CATEGORIES.join(', ')}.`, 'category');
      }
      for (const scope of role.scopes)
        if (!isApiScope(scope)) throw invalid(`Unknown scope ${scope}.`, 'scopes');
      await service.ensureDefaults();
      await db.transaction().execute(async (trx) => {
        const before = await repository.findRole(trx, role.name);
        await repository.upsertRole(trx, toRow(role, now()));
        await audit.record(
          {
            actor: SYSTEM_ACTOR,
            action: 'role.saved',
            target: { type: 'role', id: role.name },
            before: before ? toRole(before) : undefined,
            after: role,
          },
          trx,
        );
        await changes.publish('role', role.name, trx);
      });
      return role;
    },
  };
  return service;
}

export type Roles = ReturnType<typeof createRoles>;
