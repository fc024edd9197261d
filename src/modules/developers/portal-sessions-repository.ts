import type { Executor } from '../../db/index.ts';
import { parseList, toJson } from './columns.ts';
import type { PortalSessionRecord } from './model.ts';

/** SQL of developer-portal sessions; only the hash of a session cookie's value is stored. */
export const portalSessionsRepository = {
  async insert(ex: Executor, session: PortalSessionRecord): Promise<void> {
    await ex
      .insertInto('portal_sessions')
      .values({
        id_hash: session.idHash,
        user_id: session.userId,
        username: session.username,
        scopes_json: toJson(session.scopes),
        csrf_token: session.csrfToken,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
      })
      .execute();
  },

  async find(ex: Executor, idHash: string): Promise<PortalSessionRecord | undefined> {
    const row = await ex
      .selectFrom('portal_sessions')
      .selectAll()
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    return (
      row && {
        idHash: row.id_hash,
        userId: row.user_id,
        username: row.username,
        scopes: parseList(row.scopes_json),
        csrfToken: row.csrf_token,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      }
    );
  },

  async delete(ex: Executor, idHash: string): Promise<void> {
    await ex.deleteFrom('portal_sessions').where('id_hash', '=', idHash).execute();
  },

  async deleteExpired(ex: Executor, now: string): Promise<void> {
    await ex.deleteFrom('portal_sessions').where('expires_at', '<', now).execute();
  },
};
