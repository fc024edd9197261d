import type { Kysely } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import { AppError } from '../../errors/index.ts';
import { type Clock, isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { ChangeFeed } from '../../store/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { invalid, SYSTEM_ACTOR, type User, type UserEnvironment, type UserStatus } from './identity-model.ts';
import { identityRepository as repository, type UserRow } from './identity-repository.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import type { Roles } from './roles-service.ts';

const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{1,63}$/;

/** Why a new account's username or password is refused: every problem at once, by field (none: fine). */
export function newUserProblems(username: string, password: string): { name: string; message: string }[] {
  const name = username.trim().toLowerCase();
  const found: { name: string; message: string }[] = [];
  if (!USERNAME_PATTERN.test(name))
    found.push({ name: 'username', message: 'Usernames have 2–64 characters: letters, digits, and . _ @ -' });
  const problem = passwordProblem(password, name);
  if (problem) found.push({ name: 'password', message: problem });
  return found;
}

interface NewUser {
  username: string;
  password: string;
  roles: string[];
  displayName?: string;
  email?: string;
  mfaRequired?: boolean;
  /** Default `production`; sandbox test customers are `sandbox` (never changed afterwards). */
  environment?: UserEnvironment;
}

/**
 * Users: creation, status (disable, enable, unlock), roles and passwords. Listeners registered with
 * `onCredentialsRevoked` (the authorization server) end a user's sessions and grants when the user is
 * disabled or their password changes.
 */
export function createUsers(deps: {
  db: Kysely<Database>;
  clock: Clock;
  audit: AuditLog;
  changes: ChangeFeed;
  roles: Roles;
}) {
  const { db, clock, audit, changes, roles } = deps;
  const revokedListeners = new Set<(userId: string, reason: string) => Promise<void>>();
  // A user's environment never changes after creation, so cached answers never go stale (bounded).
  const environments = new Map<string, UserEnvironment>();
  const MAX_CACHED_ENVIRONMENTS = 100_000;
  const now = () => isoAt(clock.now());

  /** The stored status as callers see it: a lock that has run out is `active`. */
  const effectiveStatus = (row: UserRow): UserStatus => {
    if (row.status === 'locked' && row.locked_until && row.locked_until <= now()) return 'active';
    return row.status as UserStatus;
  };

  async function toUser(row: UserRow, ex: Executor = db): Promise<User> {
    const names = await repository.rolesOf(ex, row.id);
    return {
      id: row.id,
      username: row.username,
      displayName: row.display_name,
      email: row.email,
      status: effectiveStatus(row),
      environment: row.environment as UserEnvironment,
      lockedUntil: row.locked_until,
      roles: names,
      mfaRequired: row.mfa_required === 1 || (await roles.requireMfa(ex, names)),
      mfaEnrolled: row.totp_secret_sealed !== null,
      createdAt: row.created_at,
    };
  }

  async function findRow(idOrUsername: string, ex: Executor = db): Promise<UserRow | undefined> {
    return (
      (await repository.findUser(ex, idOrUsername)) ?? (await repository.findUserByUsername(ex, idOrUsername))
    );
  }

  async function mustFindRow(idOrUsername: string): Promise<UserRow> {
    const row = await findRow(idOrUsername);
    if (!row) throw new AppError('notFound', { detail: 'There is no such user.' });
    return row;
  }

  async function credentialsRevoked(userId: string, reason: string): Promise<void> {
    for (const listener of revokedListeners) await listener(userId, reason);
  }

  /** Change a user and record why, in one transaction (and tell other processes when `publish`). */
  async function change(
    row: UserRow,
    patch: Partial<UserRow>,
    event: { action: string; reason?: string; publish?: boolean },
    extra?: (trx: Executor) => Promise<void>,
  ): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await repository.updateUser(trx, row.id, { ...patch, updated_at: now() });
      await extra?.(trx);
      await audit.record(
        {
          actor: SYSTEM_ACTOR,
          action: event.action,
          target: { type: 'user', id: row.id },
          reason: event.reason,
        },
        trx,
      );
      if (event.publish) await changes.publish('user', row.id, trx);
    });
  }

  const service = {
    toUser,
    findRow,

    onCredentialsRevoked(listener: (userId: string, reason: string) => Promise<void>): () => void {
      revokedListeners.add(listener);
      return () => revokedListeners.delete(listener);
    },

    async createUser(input: NewUser, executor?: Executor): Promise<User> {
      await roles.ensureDefaults();
      const username = input.username.trim().toLowerCase();
      const [problem] = newUserProblems(username, input.password);
      if (problem) throw invalid(problem.message, problem.name);
      const passwordHash = await hashPassword(input.password);
      const run = async (trx: Executor) => {
        await roles.checkExist(trx, input.roles);
        if (await repository.findUserByUsername(trx, username))
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
          environment: input.environment ?? 'production',
        };
        await repository.insertUser(trx, row);
        await repository.setRoles(trx, row.id, [...new Set(input.roles)]);
        await audit.record(
          {
            actor: SYSTEM_ACTOR,
            action: 'user.created',
            target: { type: 'user', id: row.id },
            after: { username, roles: input.roles, environment: row.environment },
          },
          trx,
        );
        return toUser(row, trx);
      };
      return executor ? run(executor) : db.transaction().execute(run);
    },

    async getUser(idOrUsername: string): Promise<User | undefined> {
      const row = await findRow(idOrUsername);
      return row ? toUser(row) : undefined;
    },

    async listUsers(): Promise<User[]> {
      return Promise.all((await repository.listUsers(db)).map((row) => toUser(row)));
    },

    /**
     * The user's environment (undefined for an unknown id). Synchronous once cached: the gateway asks on
     * every request that carries a user token.
     */
    environmentOf(userId: string): UserEnvironment | undefined | Promise<UserEnvironment | undefined> {
      const cached = environments.get(userId);
      if (cached) return cached;
      return repository.findUser(db, userId).then((row) => {
        if (!row) return undefined;
        const environment = row.environment as UserEnvironment;
        if (environments.size >= MAX_CACHED_ENVIRONMENTS) environments.clear();
        environments.set(userId, environment);
        return environment;
      });
    },

    /** True when the user may hold sessions and tokens (not disabled; a lock only blocks sign-in). */
    async isActive(userId: string): Promise<boolean> {
      const row = await repository.findUser(db, userId);
      return row !== undefined && row.status !== 'disabled';
    },

    async setStatus(idOrUsername: string, status: 'active' | 'disabled', reason: string): Promise<User> {
      const row = await mustFindRow(idOrUsername);
      const action = status === 'disabled' ? 'user.disabled' : 'user.enabled';
      await change(row, { status, locked_until: null }, { action, reason, publish: true });
      if (status === 'disabled') await credentialsRevoked(row.id, reason);
      return toUser(await mustFindRow(row.id));
    },

    async unlock(idOrUsername: string): Promise<User> {
      const row = await mustFindRow(idOrUsername);
      const status = row.status === 'locked' ? 'active' : row.status;
      await change(row, { status, locked_until: null }, { action: 'user.unlocked' }, (trx) =>
        repository.clearFailures(trx, row.id),
      );
      return toUser(await mustFindRow(row.id));
    },

    /** Set a new password; every session and grant of the user ends (ASVS 7.4.3). */
    async setPassword(idOrUsername: string, password: string): Promise<void> {
      const row = await mustFindRow(idOrUsername);
      const problem = passwordProblem(password, row.username);
      if (problem) throw invalid(problem, 'password');
      const passwordHash = await hashPassword(password);
      await change(
        row,
        { password_hash: passwordHash, password_changed_at: now() },
        { action: 'user.passwordChanged' },
      );
      await credentialsRevoked(row.id, 'password changed');
    },

    async setRoles(idOrUsername: string, names: string[]): Promise<User> {
      const row = await mustFindRow(idOrUsername);
      await db.transaction().execute(async (trx) => {
        await roles.checkExist(trx, names);
        const before = await repository.rolesOf(trx, row.id);
        await repository.setRoles(trx, row.id, [...new Set(names)]);
        await audit.record(
          {
            actor: SYSTEM_ACTOR,
            action: 'user.rolesChanged',
            target: { type: 'user', id: row.id },
            before,
            after: names,
          },
          trx,
        );
        await changes.publish('user', row.id, trx);
      });
      return toUser(await mustFindRow(row.id));
    },
  };
  return service;
}

export type Users = ReturnType<typeof createUsers>;
