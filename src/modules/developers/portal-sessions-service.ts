import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import { type Clock, isoAt, parseIso } from '../../lib/clock.ts';
import type { PortalSessionRecord } from './model.ts';
import { portalSessionsRepository as sessions } from './portal-sessions-repository.ts';

/**
 * Persistence of developer-portal sessions for the portal's session helper. The helper owns the cookie
 * and the token; this stores only the token's hash (`idHash`) with who signed in and their CSRF token.
 */
export function createPortalSessions(deps: { db: Kysely<Database>; clock: Clock }) {
  const { db, clock } = deps;

  return {
    /** Store a new session, dropping expired ones on the way (sign-in is rare; no sweeper needed). */
    async insert(session: PortalSessionRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await sessions.deleteExpired(trx, isoAt(clock.now()));
        await sessions.insert(trx, session);
      });
    },

    /** The live session with this id hash; undefined when unknown or expired. */
    async find(idHash: string): Promise<PortalSessionRecord | undefined> {
      const session = await sessions.find(db, idHash);
      return session && parseIso(session.expiresAt) > clock.now() ? session : undefined;
    },

    async delete(idHash: string): Promise<void> {
      await sessions.delete(db, idHash);
    },

    /** Remove every expired session. */
    async deleteExpired(): Promise<void> {
      await sessions.deleteExpired(db, isoAt(clock.now()));
    },
  };
}

export type PortalSessions = ReturnType<typeof createPortalSessions>;
