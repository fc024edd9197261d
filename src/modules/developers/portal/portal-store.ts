import type { SessionStore } from '../../../http/web/index.ts';
import type { Clock } from '../../../lib/clock.ts';
import { isoAt, parseIso } from '../../../lib/clock.ts';
import type { Identity } from '../../identity/index.ts';
import type { DevelopersRepository, UsageRow } from '../developers-repository.ts';

/** What a portal session holds besides its id and form token. */
export interface PortalSessionData {
  userId: string;
  username: string;
  scopes: string[];
}

/** The stored data the portal reads besides the services: its sessions, rate plan names, usage rows. */
export interface PortalStore {
  /** Sessions of active users only: a disabled user's session is not found. */
  sessions: SessionStore<PortalSessionData>;
  deleteExpiredSessions(): Promise<void>;
  ratePlanNames(): Promise<string[]>;
  /** Daily usage rows of these keys since an RFC 3339 day. */
  dailyUsage(keyIds: readonly string[], since: string): Promise<UsageRow[]>;
}

/** The portal store over the developers repository. */
export function createPortalStore(deps: {
  repo: DevelopersRepository;
  identity: Identity;
  clock: Clock;
}): PortalStore {
  const { repo, identity, clock } = deps;
  return {
    sessions: {
      async find(idHash) {
        const row = await repo.findSession(idHash);
        if (!row || !(await identity.isActive(row.userId))) return undefined;
        return {
          csrf: row.csrfToken,
          createdAt: parseIso(row.createdAt),
          expiresAt: parseIso(row.expiresAt),
          data: { userId: row.userId, username: row.username, scopes: row.scopes },
        };
      },
      async save(idHash, session) {
        await repo.deleteSession(idHash);
        await repo.insertSession({
          idHash,
          ...session.data,
          csrfToken: session.csrf,
          createdAt: isoAt(session.createdAt),
          expiresAt: isoAt(session.expiresAt),
        });
      },
      delete: (idHash) => repo.deleteSession(idHash),
    },
    deleteExpiredSessions: () => repo.deleteExpiredSessions(isoAt(clock.now())),
    ratePlanNames: async () => (await repo.listPlans()).map((plan) => plan.name),
    dailyUsage: (keyIds, since) => repo.listUsage({ keyIds, granularity: 'day', since }),
  };
}
