import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.ts';
import type { RolesTable, UsersTable } from '../../db/tables/identity.ts';

export type UserRow = Selectable<UsersTable>;
export type RoleRow = Selectable<RolesTable>;

/** SQL of the identity tables; nothing else writes them. Every function runs on the executor it is given. */
export const identityRepository = {
  async insertUser(ex: Executor, row: UserRow): Promise<void> {
    await ex.insertInto('users').values(row).execute();
  },

  async findUser(ex: Executor, id: string): Promise<UserRow | undefined> {
    return ex.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async findUserByUsername(ex: Executor, username: string): Promise<UserRow | undefined> {
    return ex
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username.toLowerCase())
      .executeTakeFirst();
  },

  async updateUser(ex: Executor, id: string, patch: Partial<UserRow>): Promise<number> {
    const result = await ex.updateTable('users').set(patch).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  /** Accept a TOTP step only if it is later than the last one accepted (atomic: once per step). */
  async claimTotpStep(ex: Executor, id: string, step: number): Promise<boolean> {
    const result = await ex
      .updateTable('users')
      .set({ totp_last_step: step })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  async listUsers(ex: Executor): Promise<UserRow[]> {
    return ex.selectFrom('users').selectAll().orderBy('username').execute();
  },

  async rolesOf(ex: Executor, userId: string): Promise<string[]> {
    const rows = await ex
      .selectFrom('user_roles')
      .select('role')
      .where('user_id', '=', userId)
      .orderBy('role')
      .execute();
    return rows.map((r) => r.role);
  },

  async setRoles(ex: Executor, userId: string, roles: string[]): Promise<void> {
    await ex.deleteFrom('user_roles').where('user_id', '=', userId).execute();
    if (roles.length)
      await ex
        .insertInto('user_roles')
        .values(roles.map((role) => ({ user_id: userId, role })))
        .execute();
  },

  async findRole(ex: Executor, name: string): Promise<RoleRow | undefined> {
    return ex.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst();
  },

  async listRoles(ex: Executor): Promise<RoleRow[]> {
    return ex.selectFrom('roles').selectAll().orderBy('name').execute();
  },

  async upsertRole(ex: Executor, row: RoleRow): Promise<void> {
    await ex
      .insertInto('roles')
      .values(row)
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          category: row.category,
          description: row.description,
          scopes_json: row.scopes_json,
          requires_mfa: row.requires_mfa,
          updated_at: row.updated_at,
        }),
      )
      .execute();
  },

  async recordFailure(ex: Executor, id: string, userId: string, at: string): Promise<void> {
    await ex.insertInto('login_failures').values({ id, user_id: userId, occurred_at: at }).execute();
  },

  async countFailuresSince(ex: Executor, userId: string, since: string): Promise<number> {
    const row = await ex
      .selectFrom('login_failures')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('occurred_at', '>=', since)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  },

  async clearFailures(ex: Executor, userId: string): Promise<void> {
    await ex.deleteFrom('login_failures').where('user_id', '=', userId).execute();
  },

  async replaceRecoveryCodes(ex: Executor, userId: string, hashes: string[]): Promise<void> {
    await ex.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    if (hashes.length)
      await ex
        .insertInto('recovery_codes')
        .values(hashes.map((code_hash) => ({ user_id: userId, code_hash, used_at: null })))
        .execute();
  },

  /** Mark a recovery code used; true only for the one request that used it (atomic). */
  async useRecoveryCode(ex: Executor, userId: string, hash: string, at: string): Promise<boolean> {
    const result = await ex
      .updateTable('recovery_codes')
      .set({ used_at: at })
      .where('user_id', '=', userId)
      .where('code_hash', '=', hash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  async recordMfaFailure(ex: Executor, id: string, userId: string, at: string): Promise<void> {
    await ex.insertInto('mfa_failures').values({ id, user_id: userId, occurred_at: at }).execute();
  },

  async countMfaFailuresSince(ex: Executor, userId: string, since: string): Promise<number> {
    const row = await ex
      .selectFrom('mfa_failures')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('occurred_at', '>=', since)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  },

  async clearMfaFailures(ex: Executor, userId: string): Promise<void> {
    await ex.deleteFrom('mfa_failures').where('user_id', '=', userId).execute();
  },

  async mfaLockedUntil(ex: Executor, userId: string): Promise<string | undefined> {
    const row = await ex
      .selectFrom('mfa_locks')
      .select('locked_until')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.locked_until;
  },

  async lockMfa(ex: Executor, userId: string, until: string): Promise<void> {
    await ex
      .insertInto('mfa_locks')
      .values({ user_id: userId, locked_until: until })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ locked_until: until }))
      .execute();
  },

  async unlockMfa(ex: Executor, userId: string): Promise<void> {
    await ex.deleteFrom('mfa_locks').where('user_id', '=', userId).execute();
  },
};
