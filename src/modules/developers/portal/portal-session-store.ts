import type { SessionStore } from '../../../http/web/index.ts';
import { isoAt, parseIso } from '../../../lib/clock.ts';
import type { Identity } from '../../identity/index.ts';
import type { PortalSessions } from '../portal-sessions-service.ts';

/** What a portal session holds besides its id and form token. */
export interface PortalSessionData {
  userId: string;
  username: string;
  scopes: string[];
}

/**
 * The portal's sessions for the web session helper: stored by the portal-sessions service (only the id's
 * hash), and only a session of an active user is found (disabling a user ends their portal session).
 */
export function portalSessionStore(deps: {
  portalSessions: PortalSessions;
  identity: Identity;
}): SessionStore<PortalSessionData> {
  const { portalSessions, identity } = deps;
  return {
    async find(idHash) {
      const row = await portalSessions.find(idHash);
      if (!row || !(await identity.isActive(row.userId))) return undefined;
      return {
        csrf: row.csrfToken,
        createdAt: parseIso(row.createdAt),
        expiresAt: parseIso(row.expiresAt),
        data: { userId: row.userId, username: row.username, scopes: row.scopes },
      };
    },
    // Portal sessions are written once, at sign-in (they do not slide): saving is inserting.
    async save(idHash, session) {
      await portalSessions.insert({
        idHash,
        ...session.data,
        csrfToken: session.csrf,
        createdAt: isoAt(session.createdAt),
        expiresAt: isoAt(session.expiresAt),
      });
    },
    delete: (idHash) => portalSessions.delete(idHash),
  };
}
