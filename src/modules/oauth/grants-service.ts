import type { Executor } from '../../db/index.ts';
import { isoAt } from '../../lib/clock.ts';
import type { ModuleContext } from '../module-context.ts';
import { type DenialKind, denylistRepository as denylist } from './denylist-repository.ts';
import { payloadsRepository as payloads } from './payloads-repository.ts';

/** Change-feed topics of this module. */
export const TOPICS = {
  grantRevoked: 'grant.revoked',
  tokenRevoked: 'token.revoked',
  signingKeys: 'signingKeys',
  client: 'oauthClient',
} as const;

/**
 * No access token lives longer than this (lifetimes are validated against it), so a denylist entry can
 * be forgotten this long after the revocation.
 */
export const MAX_ACCESS_TOKEN_SECONDS = 24 * 60 * 60;

export interface GrantSummary {
  grantId: string;
  clientId: string | null;
  accountId: string | null;
  scope: string;
  expiresAt: string | null;
}

/**
 * Grants and the denylist. Access tokens are stateless JWTs, so ending a grant must also list its id
 * here: the gateway asks `isRevoked` (synchronous, in memory) on every request. The in-memory set is
 * loaded at start, updated at once for revocations made in this process, and fed by the change feed for
 * revocations made elsewhere (another instance, the CLI).
 */
export function createGrants(context: ModuleContext) {
  const { db, clock, changes, audit, logger } = context;
  const revoked = new Map<string, number>(); // `grant:<id>` | `jti:<id>` → expires (epoch s)
  let lastPrune = 0;

  const nowSeconds = () => Math.floor(clock.now() / 1000);

  const remember = (kind: DenialKind, id: string, expiresAt: number) => {
    revoked.set(`${kind}:${id}`, expiresAt);
  };

  const loadOne = async (kind: DenialKind, id: string) => {
    const expiresAt = await denylist.expiryOf(db, kind, id);
    remember(kind, id, expiresAt ?? nowSeconds() + MAX_ACCESS_TOKEN_SECONDS);
  };

  async function loadDenylist(): Promise<void> {
    const rows = await denylist.listLive(db, nowSeconds());
    for (const row of rows) remember(row.kind as DenialKind, row.id, Number(row.expires_at));
    await denylist.deleteExpired(db, nowSeconds());
  }

  const unsubscribe = [
    // After a change-log gap (DESIGN.md §5.2) the denylist is reloaded before the next answer.
    changes.onResync(loadDenylist),
    changes.subscribe(TOPICS.grantRevoked, (change) => {
      // Remember at once (the entry's exact expiry follows): the 1-second bound matters more.
      remember('grant', change.key, nowSeconds() + MAX_ACCESS_TOKEN_SECONDS);
      void loadOne('grant', change.key).catch(() => {});
    }),
    changes.subscribe(TOPICS.tokenRevoked, (change) => {
      remember('jti', change.key, nowSeconds() + MAX_ACCESS_TOKEN_SECONDS);
      void loadOne('jti', change.key).catch(() => {});
    }),
  ];

  async function deny(kind: DenialKind, id: string, reason: string, executor: Executor): Promise<void> {
    const expiresAt = nowSeconds() + MAX_ACCESS_TOKEN_SECONDS;
    await denylist.upsert(executor, {
      kind,
      id,
      revoked_at: isoAt(clock.now()),
      expires_at: expiresAt,
      reason,
    });
    await changes.publish(kind === 'grant' ? TOPICS.grantRevoked : TOPICS.tokenRevoked, id, executor);
    remember(kind, id, expiresAt);
  }

  /** Delete every artifact of a grant (grant, codes, refresh tokens…) and deny its access tokens. */
  async function revokeGrant(grantId: string, reason: string, executor: Executor = db): Promise<void> {
    await payloads.deleteGrant(executor, grantId);
    await deny('grant', grantId, reason, executor);
  }

  return {
    /** Synchronous and in-memory: the gateway calls it on every request. */
    isRevoked(token: { grantId: string | undefined; jti: string }): boolean {
      const now = nowSeconds();
      if (now - lastPrune > 60) {
        lastPrune = now;
        for (const [key, expiresAt] of revoked) if (expiresAt < now) revoked.delete(key);
      }
      if (token.grantId && revoked.has(`grant:${token.grantId}`)) return true;
      return revoked.has(`jti:${token.jti}`);
    },

    /** Load the live denylist (at start, and after a change-log gap). */
    load: loadDenylist,

    revokeGrant,

    /** Whether a grant of that id exists (and has not been revoked). */
    async exists(grantId: string): Promise<boolean> {
      return (await payloads.findBy(db, 'Grant', 'id', grantId)) !== undefined;
    },

    /** Deny one access token (a client-credentials token has no grant). */
    async revokeTokenId(jti: string, reason: string, executor: Executor = db): Promise<void> {
      await deny('jti', jti, reason, executor);
    },

    /** Every grant of a user: sign-out everywhere (user disabled, password changed). Returns how many. */
    async revokeUserGrants(userId: string, reason: string): Promise<number> {
      const ids = await payloads.grantIdsWhere(db, 'account_id', userId);
      await db.transaction().execute(async (trx) => {
        for (const id of ids) await revokeGrant(id, reason, trx);
        await payloads.deleteSessionsOf(trx, userId);
        if (ids.length > 0) {
          await audit.record(
            {
              actor: { type: 'system' },
              action: 'grant.revokedForUser',
              target: { type: 'user', id: userId },
              reason,
              after: { grants: ids.length },
            },
            trx,
          );
        }
      });
      return ids.length;
    },

    async revokeClientGrants(clientId: string, reason: string, executor?: Executor): Promise<number> {
      // Reads through the caller's executor: on SQLite's single connection a read on `db` would queue
      // behind the caller's open transaction forever.
      const ids = await payloads.grantIdsWhere(executor ?? db, 'client_id', clientId);
      const run = async (trx: Executor) => {
        for (const id of ids) await revokeGrant(id, reason, trx);
      };
      if (executor) await run(executor);
      else await db.transaction().execute(run);
      return ids.length;
    },

    async listUserGrants(userId: string): Promise<GrantSummary[]> {
      const rows = await payloads.listGrantsOf(db, userId);
      return rows.map((row) => {
        const payload = JSON.parse(row.payload_json) as {
          clientId?: string;
          accountId?: string;
          openid?: { scope?: string };
          resources?: Record<string, string>;
        };
        const scopes = new Set<string>();
        for (const s of (payload.openid?.scope ?? '').split(' ')) if (s) scopes.add(s);
        for (const value of Object.values(payload.resources ?? {}))
          for (const s of value.split(' ')) if (s) scopes.add(s);
        return {
          grantId: row.id,
          clientId: payload.clientId ?? null,
          accountId: payload.accountId ?? null,
          scope: [...scopes].join(' '),
          expiresAt: row.expires_at ? isoAt(Number(row.expires_at) * 1000) : null,
        };
      });
    },

    stop() {
      for (const off of unsubscribe) off();
      logger.debug('grants service stopped');
    },
  };
}

export type Grants = ReturnType<typeof createGrants>;
