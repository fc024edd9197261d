import type { Executor } from '../../db/index.ts';
import type { Invitation, MemberRole } from './model.ts';

/** SQL of organization invitations; only the SHA-256 hash of an invitation token is stored. */
export const invitationsRepository = {
  async insert(
    ex: Executor,
    invitation: Omit<Invitation, 'acceptedAt'> & { tokenHash: string; createdBy: string | null },
  ): Promise<void> {
    await ex
      .insertInto('organization_invitations')
      .values({
        id: invitation.id,
        organization_id: invitation.organizationId,
        role: invitation.role,
        token_hash: invitation.tokenHash,
        created_by: invitation.createdBy,
        created_at: invitation.createdAt,
        expires_at: invitation.expiresAt,
        accepted_at: null,
        accepted_by: null,
      })
      .execute();
  },

  async findByHash(ex: Executor, tokenHash: string): Promise<Invitation | undefined> {
    const row = await ex
      .selectFrom('organization_invitations')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return (
      row && {
        id: row.id,
        organizationId: row.organization_id,
        role: row.role as MemberRole,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        acceptedAt: row.accepted_at,
        createdBy: row.created_by,
      }
    );
  },

  /**
   * Marks an open invitation accepted; false when it was already used, or expired or revoked meanwhile
   * (single use, race-safe).
   */
  async accept(ex: Executor, id: string, userId: string, at: string): Promise<boolean> {
    const result = await ex
      .updateTable('organization_invitations')
      .set({ accepted_at: at, accepted_by: userId })
      .where('id', '=', id)
      .where('accepted_at', 'is', null)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Ends an open invitation now (its expiry becomes `at`); false when it was not open. */
  async revoke(ex: Executor, organizationId: string, id: string, at: string): Promise<boolean> {
    const result = await ex
      .updateTable('organization_invitations')
      .set({ expires_at: at })
      .where('id', '=', id)
      .where('organization_id', '=', organizationId)
      .where('accepted_at', 'is', null)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Invitations neither used nor expired at `now`, newest first (the portal's shape, snake_case). */
  async listOpen(ex: Executor, organizationId: string, now: string) {
    return ex
      .selectFrom('organization_invitations')
      .select(['id', 'role', 'created_at', 'expires_at'])
      .where('organization_id', '=', organizationId)
      .where('accepted_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .execute();
  },
};
