import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { generateSecret, generateURI, verify as verifyTotp } from 'otplib';
import type { Database } from '../../db/schema.ts';
import { AppError } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import { sha256Hex } from '../../lib/hash.ts';
import { newId } from '../../lib/ids.ts';
import type { ModuleContext } from '../module-context.ts';
import { createIdentityRepository, type RoleRow, type UserRow } from './identity-repository.ts';
import { hashPassword, needsRehash, passwordProblem, timingDummyHash, verifyPassword } from './passwords.ts';
import { isApiScope } from './scopes.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export type RoleCategory = 'customer' | 'operator' | 'system';
export type UserStatus = 'active' | 'disabled' | 'locked';

export interface Role {
  name: string;
  category: RoleCategory;
  description: string;
  scopes: string[];
  requiresMfa: boolean;
}

export interface User {
  id: string;
  username: string;
  displayName: string | null;
  email: string | null;
  status: UserStatus;
  lockedUntil: string | null;
  roles: string[];
  mfaRequired: boolean;
  mfaEnrolled: boolean;
  createdAt: string;
}

/** The institution's default roles (DESIGN.md §3); editable afterwards (`roles set-scopes`). */
export const DEFAULT_ROLES: Role[] = [
  {
    name: 'customer',
    category: 'customer',
    description: 'Retail or business customer',
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

/** Sign-in thresholds (DESIGN.md §3). */
export const SIGN_IN_LIMITS = {
  accountFailures: 10,
  accountWindowSeconds: 15 * 60,
  lockSeconds: 15 * 60,
  addressFailuresPerMinute: 100,
} as const;

export type AuthenticationResult =
  | { ok: true; user: User; mfa: 'none' | 'verify' | 'enroll' }
  | { ok: false; reason: 'invalid' | 'locked' | 'throttled'; retryAfterSeconds?: number };

const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{1,63}$/;
const TOTP_PERIOD = 30;

function toRole(row: RoleRow): Role {
  return {
    name: row.name,
    category: row.category as RoleCategory,
    description: row.description,
    scopes: JSON.parse(row.scopes_json) as string[],
    requiresMfa: row.requires_mfa === 1,
  };
}

function invalid(detail: string, name: string): AppError {
  return new AppError('badRequest', { detail, errors: [{ in: 'body', name, message: detail }] });
}

/**
 * Users, roles → scopes, passwords, TOTP MFA with recovery codes, lockout and throttling. Listeners
 * registered with `onCredentialsRevoked` (the authorization server) end a user's sessions and grants
 * when the user is disabled or their password changes.
 */
export function createIdentityService(context: ModuleContext) {
  const { db, clock, sealer, audit, shared, changes } = context;
  const repository = createIdentityRepository(db);
  const revokedListeners = new Set<(userId: string, reason: string) => Promise<void>>();
  const addressLimiter = shared.rateLimiter({
    keyPrefix: 'signin-address',
    points: SIGN_IN_LIMITS.addressFailuresPerMinute,
    duration: 60,
  });
  const unknownLimiter = shared.rateLimiter({
    keyPrefix: 'signin-unknown-user',
    points: SIGN_IN_LIMITS.accountFailures,
    duration: SIGN_IN_LIMITS.accountWindowSeconds,
  });
  let rolesReady: Promise<void> | undefined;

  const now = () => isoAt(clock.now());

  const toUser = async (row: UserRow, executor: Executor = db): Promise<User> => {
    const roles = await repository.rolesOf(row.id, executor);
    return {
      id: row.id,
      username: row.username,
      displayName: row.display_name,
      email: row.email,
      status: effectiveStatus(row),
      lockedUntil: row.locked_until,
      roles,
      mfaRequired: await mfaRequired(row, roles, executor),
      mfaEnrolled: row.totp_secret_sealed !== null,
      createdAt: row.created_at,
    };
  };

  const effectiveStatus = (row: UserRow): UserStatus => {
    if (row.status === 'locked' && row.locked_until && row.locked_until <= now()) return 'active';
    return row.status as UserStatus;
  };

  async function mfaRequired(row: UserRow, roles: string[], executor: Executor = db): Promise<boolean> {
    if (row.mfa_required === 1) return true;
    for (const name of roles)
      if ((await repository.findRole(name, executor))?.requires_mfa === 1) return true;
    return false;
  }

  async function checkRoles(roles: string[], executor: Executor): Promise<void> {
    for (const role of roles)
      if (!(await repository.findRole(role, executor))) throw invalid(`Unknown role ${role}.`, 'roles');
  }

  async function mustFindUser(idOrUsername: string, executor: Executor = db): Promise<UserRow> {
    const row =
      (await repository.findUser(idOrUsername, executor)) ??
      (await repository.findUserByUsername(idOrUsername, executor));
    if (!row) throw new AppError('notFound', { detail: 'There is no such user.' });
    return row;
  }

  async function credentialsRevoked(userId: string, reason: string): Promise<void> {
    for (const listener of revokedListeners) await listener(userId, reason);
  }

  function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
    const codes = Array.from({ length: 10 }, () => {
      const hex = randomBytes(10).toString('hex');
      return `${hex.slice(0, 5)}-${hex.slice(5, 10)}-${hex.slice(10, 15)}-${hex.slice(15, 20)}`;
    });
    return { codes, hashes: codes.map(hashRecoveryCode) };
  }

  const service = {
    /** Create the default roles that do not exist yet (never overwrites the institution's edits). */
    ensureDefaultRoles(): Promise<void> {
      rolesReady ??= (async () => {
        for (const role of DEFAULT_ROLES) {
          if (await repository.findRole(role.name)) continue;
          await repository
            .upsertRole({
              name: role.name,
              category: role.category,
              description: role.description,
              scopes_json: JSON.stringify(role.scopes),
              requires_mfa: role.requiresMfa ? 1 : 0,
              updated_at: now(),
            })
            .catch(async (error) => {
              // Another process created it concurrently.
              if (!(await repository.findRole(role.name))) throw error;
            });
        }
      })();
      rolesReady.catch(() => {
        rolesReady = undefined;
      });
      return rolesReady;
    },

    onCredentialsRevoked(listener: (userId: string, reason: string) => Promise<void>): () => void {
      revokedListeners.add(listener);
      return () => revokedListeners.delete(listener);
    },

    async createUser(
      input: {
        username: string;
        password: string;
        roles: string[];
        displayName?: string;
        email?: string;
        mfaRequired?: boolean;
      },
      executor?: Executor,
    ): Promise<User> {
      await service.ensureDefaultRoles();
      const username = input.username.trim().toLowerCase();
      if (!USERNAME_PATTERN.test(username))
        throw invalid('Usernames have 2–64 characters: letters, digits, and . _ @ -', 'username');
      const problem = passwordProblem(input.password, username);
      if (problem) throw invalid(problem, 'password');
      const passwordHash = await hashPassword(input.password);
      const run = async (trx: Executor) => {
        await checkRoles(input.roles, trx);
        if (await repository.findUserByUsername(username, trx))
          throw new AppError('conflict', { detail: 'This username is taken.' });
        const at = now();
        const row: UserRow = {
          id: newId('usr'),
          username,
          display_name: input.displayName ?? null,
          email: input.email ?? null,
          password_hash: passwordHash,
          status: 'active',
          locked_until: null,
          mfa_required: input.mfaRequired ? 1 : 0,
          totp_secret_sealed: null,
          totp_last_step: null,
          password_changed_at: at,
          created_at: at,
          updated_at: at,
        };
        await repository.insertUser(row, trx);
        await repository.setRoles(row.id, [...new Set(input.roles)], trx);
        await audit.record(
          {
            actor: { type: 'system' },
            action: 'user.created',
            target: { type: 'user', id: row.id },
            after: { username, roles: input.roles },
          },
          trx,
        );
        return toUser(row, trx);
      };
      return executor ? run(executor) : db.transaction().execute(run);
    },

    async getUser(idOrUsername: string): Promise<User | undefined> {
      const row =
        (await repository.findUser(idOrUsername)) ?? (await repository.findUserByUsername(idOrUsername));
      return row ? toUser(row) : undefined;
    },

    async listUsers(): Promise<User[]> {
      return Promise.all((await repository.listUsers()).map((row) => toUser(row)));
    },

    /** True when the user may hold sessions and tokens (not disabled; a lock only blocks sign-in). */
    async isActive(userId: string): Promise<boolean> {
      const row = await repository.findUser(userId);
      return row !== undefined && row.status !== 'disabled';
    },

    async setStatus(idOrUsername: string, status: 'active' | 'disabled', reason: string): Promise<User> {
      const row = await mustFindUser(idOrUsername);
      await db.transaction().execute(async (trx) => {
        await repository.updateUser(row.id, { status, locked_until: null, updated_at: now() }, trx);
        await audit.record(
          {
            actor: { type: 'system' },
            action: status === 'disabled' ? 'user.disabled' : 'user.enabled',
            target: { type: 'user', id: row.id },
            reason,
          },
          trx,
        );
        await changes.publish('user', row.id, trx);
      });
      if (status === 'disabled') await credentialsRevoked(row.id, reason);
      return (await service.getUser(row.id)) as User;
    },

    async unlock(idOrUsername: string): Promise<User> {
      const row = await mustFindUser(idOrUsername);
      await db.transaction().execute(async (trx) => {
        await repository.updateUser(
          row.id,
          { status: row.status === 'locked' ? 'active' : row.status, locked_until: null, updated_at: now() },
          trx,
        );
        await repository.clearFailures(row.id, trx);
        await audit.record(
          { actor: { type: 'system' }, action: 'user.unlocked', target: { type: 'user', id: row.id } },
          trx,
        );
      });
      return (await service.getUser(row.id)) as User;
    },

    /** Set a new password; every session and grant of the user ends (ASVS 7.4.3). */
    async setPassword(idOrUsername: string, password: string): Promise<void> {
      const row = await mustFindUser(idOrUsername);
      const problem = passwordProblem(password, row.username);
      if (problem) throw invalid(problem, 'password');
      const passwordHash = await hashPassword(password);
      await db.transaction().execute(async (trx) => {
        await repository.updateUser(
          row.id,
          { password_hash: passwordHash, password_changed_at: now(), updated_at: now() },
          trx,
        );
        await audit.record(
          { actor: { type: 'system' }, action: 'user.passwordChanged', target: { type: 'user', id: row.id } },
          trx,
        );
      });
      await credentialsRevoked(row.id, 'password changed');
    },

    async setRoles(idOrUsername: string, roles: string[]): Promise<User> {
      const row = await mustFindUser(idOrUsername);
      await db.transaction().execute(async (trx) => {
        await checkRoles(roles, trx);
        const before = await repository.rolesOf(row.id, trx);
        await repository.setRoles(row.id, [...new Set(roles)], trx);
        await audit.record(
          {
            actor: { type: 'system' },
            action: 'user.rolesChanged',
            target: { type: 'user', id: row.id },
            before,
            after: roles,
          },
          trx,
        );
        await changes.publish('user', row.id, trx);
      });
      return (await service.getUser(row.id)) as User;
    },

    /** Union of the scopes granted by the user's roles. */
    async scopesOf(userId: string): Promise<Set<string>> {
      const scopes = new Set<string>();
      for (const name of await repository.rolesOf(userId)) {
        const role = await repository.findRole(name);
        if (role) for (const scope of JSON.parse(role.scopes_json) as string[]) scopes.add(scope);
      }
      return scopes;
    },

    async listRoles(): Promise<Role[]> {
      await service.ensureDefaultRoles();
      return (await repository.listRoles()).map(toRole);
    },

    async getRole(name: string): Promise<Role | undefined> {
      await service.ensureDefaultRoles();
      const row = await repository.findRole(name);
      return row ? toRole(row) : undefined;
    },

    async saveRole(role: Role): Promise<Role> {
      if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(role.name)) throw invalid('Invalid role name.', 'name');
      if (!['customer', 'operator', 'system'].includes(role.category))
        throw invalid('Unknown category.', 'category');
      for (const scope of role.scopes)
        if (!isApiScope(scope)) throw invalid(`Unknown scope ${scope}.`, 'scopes');
      await service.ensureDefaultRoles();
      await db.transaction().execute(async (trx) => {
        const before = await repository.findRole(role.name, trx);
        await repository.upsertRole(
          {
            name: role.name,
            category: role.category,
            description: role.description,
            scopes_json: JSON.stringify([...new Set(role.scopes)]),
            requires_mfa: role.requiresMfa ? 1 : 0,
            updated_at: now(),
          },
          trx,
        );
        await audit.record(
          {
            actor: { type: 'system' },
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

    /**
     * Check a username and password. Unknown users, wrong passwords and locked accounts take the same
     * time and (to the page) look the same; failures count per account (lockout) and per source address
     * (throttle).
     */
    async authenticate(input: {
      username: string;
      password: string;
      address: string;
    }): Promise<AuthenticationResult> {
      const username = input.username.trim().toLowerCase();
      try {
        const state = await addressLimiter.get(input.address);
        if (state && state.consumedPoints >= SIGN_IN_LIMITS.addressFailuresPerMinute)
          return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil(state.msBeforeNext / 1000) };
      } catch {
        // The shared state is unavailable: fail open on the throttle, the account lockout still holds.
      }
      const row =
        username && username.length <= 64 ? await repository.findUserByUsername(username) : undefined;
      const failed = async (locked: boolean): Promise<AuthenticationResult> => {
        await addressLimiter.consume(input.address).catch(() => {});
        return { ok: false, reason: locked ? 'locked' : 'invalid' };
      };
      if (!row) {
        await verifyPassword(await timingDummyHash(), input.password);
        const counted = await unknownLimiter
          .consume(username || '-')
          .catch((r: { consumedPoints?: number }) => r);
        return failed((counted?.consumedPoints ?? 0) >= SIGN_IN_LIMITS.accountFailures);
      }
      const passwordOk = await verifyPassword(row.password_hash, input.password);
      const lockedNow = row.status === 'locked' && row.locked_until !== null && row.locked_until > now();
      if (lockedNow || row.status === 'disabled') {
        // A locked or disabled account refuses even the right password, with the same answer.
        return failed(lockedNow);
      }
      if (!passwordOk) {
        const at = now();
        await repository.recordFailure(newId('lfl'), row.id, at);
        const since = isoAt(clock.now() - SIGN_IN_LIMITS.accountWindowSeconds * 1000);
        const failures = await repository.countFailuresSince(row.id, since);
        if (failures >= SIGN_IN_LIMITS.accountFailures) {
          await db.transaction().execute(async (trx) => {
            await repository.updateUser(
              row.id,
              {
                status: 'locked',
                locked_until: isoAt(clock.now() + SIGN_IN_LIMITS.lockSeconds * 1000),
                updated_at: at,
              },
              trx,
            );
            await repository.clearFailures(row.id, trx);
            await audit.record(
              {
                actor: { type: 'system' },
                action: 'user.locked',
                target: { type: 'user', id: row.id },
                reason: `${failures} failed sign-ins`,
              },
              trx,
            );
          });
          context.logger.warn(
            { userId: row.id, event: 'user.locked' },
            'account locked after failed sign-ins',
          );
          return failed(true);
        }
        context.logger.info({ userId: row.id, event: 'signin.failed' }, 'failed sign-in');
        return failed(false);
      }
      const patch: Partial<UserRow> = {};
      if (row.status === 'locked') Object.assign(patch, { status: 'active', locked_until: null });
      if (needsRehash(row.password_hash)) patch.password_hash = await hashPassword(input.password);
      if (Object.keys(patch).length) await repository.updateUser(row.id, { ...patch, updated_at: now() });
      await repository.clearFailures(row.id);
      const user = await toUser({ ...row, ...patch });
      const mfa = user.mfaRequired || user.mfaEnrolled ? (user.mfaEnrolled ? 'verify' : 'enroll') : 'none';
      return { ok: true, user, mfa };
    },

    /** A TOTP code (once per 30-second step) or an unused recovery code. */
    async verifyOtp(userId: string, code: string): Promise<boolean> {
      const row = await repository.findUser(userId);
      if (!row?.totp_secret_sealed) return false;
      const trimmed = code.replace(/\s+/g, '');
      if (/^\d{6}$/.test(trimmed)) {
        const secret = sealer.open(row.totp_secret_sealed, `totp:${row.id}`);
        const result = await verifyTotp({
          secret,
          token: trimmed,
          epoch: Math.floor(clock.now() / 1000),
          epochTolerance: TOTP_PERIOD,
          afterTimeStep: row.totp_last_step === null ? undefined : Number(row.totp_last_step),
        }).catch(() => ({ valid: false as const }));
        if (!result.valid) return false;
        return repository.claimTotpStep(row.id, (result as { timeStep: number }).timeStep);
      }
      if (/^[0-9a-f]{5}(-?[0-9a-f]{5}){3}$/i.test(trimmed)) {
        const used = await repository.useRecoveryCode(row.id, hashRecoveryCode(trimmed), now());
        if (used)
          await audit.record({
            actor: { type: 'user', id: row.id },
            action: 'user.recoveryCodeUsed',
            target: { type: 'user', id: row.id },
          });
        return used;
      }
      return false;
    },

    /** A new TOTP secret and recovery codes (not yet active: confirm with `confirmTotp`). */
    newTotpEnrolment(username: string): { secret: string; uri: string } {
      const secret = generateSecret();
      return {
        secret,
        uri: generateURI({ issuer: context.config.institutionName, label: username, secret }),
      };
    },

    /** Store a TOTP secret after the user proved they have it; returns the recovery codes (shown once). */
    async confirmTotp(userId: string, secret: string, code: string): Promise<string[] | undefined> {
      const result = await verifyTotp({
        secret,
        token: code.replace(/\s+/g, ''),
        epoch: Math.floor(clock.now() / 1000),
        epochTolerance: TOTP_PERIOD,
      }).catch(() => ({ valid: false as const }));
      if (!result.valid) return undefined;
      return service.setTotpSecret(userId, secret, (result as { timeStep: number }).timeStep);
    },

    /** Set the TOTP secret (sealed at rest) and fresh recovery codes; returns the codes. */
    async setTotpSecret(userId: string, secret: string, lastStep: number | null = null): Promise<string[]> {
      const { codes, hashes } = newRecoveryCodes();
      await db.transaction().execute(async (trx) => {
        await repository.updateUser(
          userId,
          {
            totp_secret_sealed: sealer.seal(secret, `totp:${userId}`),
            totp_last_step: lastStep,
            updated_at: now(),
          },
          trx,
        );
        await repository.replaceRecoveryCodes(userId, hashes, trx);
        await audit.record(
          { actor: { type: 'system' }, action: 'user.mfaEnrolled', target: { type: 'user', id: userId } },
          trx,
        );
      });
      return codes;
    },
  };
  return service;
}

function hashRecoveryCode(code: string): string {
  return sha256Hex(code.replace(/-/g, '').toLowerCase());
}

export type IdentityService = ReturnType<typeof createIdentityService>;
