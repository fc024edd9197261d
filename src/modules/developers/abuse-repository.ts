import type { Executor } from '../../db/index.ts';

/** SQL of `abuse_revocations`: grants abuse detection revoked, per application. */
export const abuseRepository = {
  async recordRevocation(
    ex: Executor,
    row: { grantId: string; applicationId: string; keyId: string; userId: string; revokedAt: string },
  ): Promise<void> {
    await ex
      .insertInto('abuse_revocations')
      .values({
        grant_id: row.grantId,
        application_id: row.applicationId,
        key_id: row.keyId,
        user_id: row.userId,
        revoked_at: row.revokedAt,
      })
      .onConflict((oc) => oc.column('grant_id').doNothing())
      .execute();
  },

  /** How many distinct users of the application had a grant revoked for abuse since `since`. */
  async distinctUsersSince(ex: Executor, applicationId: string, since: string): Promise<number> {
    const row = await ex
      .selectFrom('abuse_revocations')
      .select((eb) => eb.fn.count<string | number>('user_id').distinct().as('users'))
      .where('application_id', '=', applicationId)
      .where('revoked_at', '>=', since)
      .executeTakeFirst();
    return Number(row?.users ?? 0);
  },
};
