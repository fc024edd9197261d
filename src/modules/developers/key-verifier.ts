import { timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.ts';
import { type Clock, parseIso } from '../../lib/clock.ts';
import type { ChangeFeed } from '../../store/index.ts';
import type { KeyVerification, KeyVerifier, VerifiedKey } from '../gateway/contract.ts';
import { apiKeysRepository } from './api-keys-repository.ts';
import { applicationsRepository } from './applications-repository.ts';
import { hashKeyBytes, KEY_LENGTH, parseKey } from './key-format.ts';
import type { ApiKeyRecord, AppState } from './model.ts';

/** Change-feed topics that invalidate cached verification data. */
export const TOPICS = {
  apiKey: 'apiKey',
  application: 'clientApplication',
  ratePlan: 'ratePlan',
} as const;

interface Entry {
  key: Pick<ApiKeyRecord, 'id' | 'secretHash' | 'state' | 'expiresAt'>;
  /** `key.secretHash` as bytes, for the constant-time comparison. */
  hashBytes: Buffer;
  appState: AppState;
  /** Epoch ms of `expiresAt`, precomputed for the hot path. */
  expiresAtMs: number;
  verified: VerifiedKey;
}

/** Cap on remembered "no such key" answers, so enumeration cannot grow memory without bound. */
const MAX_NEGATIVE = 50_000;

/**
 * The gateway's KeyVerifier (DESIGN.md §1 rows 2–3): syntax and checksum first (no lookup for garbage),
 * then the key's row from an in-process cache — loaded once, invalidated through the change feed (every
 * process within one poll interval) and directly by this process's services after each commit — then a
 * constant-time comparison of SHA-256 hashes. Unknown, malformed, revoked and expired keys are distinct
 * reasons here (for logs and metering); the gateway answers all four identically.
 */
export function createKeyVerifier(deps: { db: Kysely<Database>; clock: Clock; changes: ChangeFeed }) {
  const { db, clock, changes } = deps;
  const entries = new Map<string, Entry>();
  const missing = new Set<string>();
  const keysByApp = new Map<string, Set<string>>();
  const inFlight = new Map<string, Promise<Entry | undefined>>();
  // Bumped by every invalidation: a load that started before one must not repopulate stale data.
  let generation = 0;

  // Keys abuse detection stopped in this process whose suspension is still being committed.
  const stopping = new Set<string>();
  const forget = (keyId: string) => {
    generation++;
    missing.delete(keyId);
    stopping.delete(keyId);
    const entry = entries.get(keyId);
    if (entry) {
      entries.delete(keyId);
      keysByApp.get(entry.verified.applicationId)?.delete(keyId);
    }
  };
  let origins: Promise<Set<string>> | undefined;
  const forgetApplication = (applicationId: string) => {
    generation++;
    origins = undefined;
    for (const keyId of keysByApp.get(applicationId) ?? []) entries.delete(keyId);
    keysByApp.delete(applicationId);
  };
  const forgetAll = () => {
    generation++;
    origins = undefined;
    entries.clear();
    missing.clear();
    keysByApp.clear();
  };

  changes.subscribe(TOPICS.apiKey, (change) => forget(change.key));
  changes.subscribe(TOPICS.application, (change) => forgetApplication(change.key));
  changes.subscribe(TOPICS.ratePlan, () => forgetAll());
  // After a change-log gap (DESIGN.md §5.2) nothing cached is trusted.
  changes.onResync(forgetAll);

  async function load(keyId: string): Promise<Entry | undefined> {
    const startedAt = generation;
    const row = await apiKeysRepository.loadVerification(db, keyId);
    const entry: Entry | undefined = row && {
      key: row.key,
      hashBytes: Buffer.from(row.key.secretHash, 'hex'),
      appState: row.application.state,
      expiresAtMs: row.key.expiresAt === null ? Number.POSITIVE_INFINITY : parseIso(row.key.expiresAt),
      verified: Object.freeze({
        keyId: row.key.id,
        applicationId: row.application.id,
        clientId: row.application.clientId,
        organizationId: row.application.organizationId,
        plan: Object.freeze({
          id: row.plan.id,
          name: row.plan.name,
          perSecond: row.plan.perSecond,
          burst: row.plan.burst,
          perDay: row.plan.perDay,
        }),
        corsOrigins: Object.freeze([...row.application.corsOrigins]),
        apis: row.application.apis.includes('*') ? '*' : Object.freeze([...row.application.apis]),
        abuseExempt: row.plan.abuseExempt,
        environment: row.application.environment,
      }),
    };
    if (generation === startedAt) {
      if (entry) {
        entries.set(keyId, entry);
        let set = keysByApp.get(entry.verified.applicationId);
        if (!set) {
          set = new Set();
          keysByApp.set(entry.verified.applicationId, set);
        }
        set.add(keyId);
      } else {
        if (missing.size >= MAX_NEGATIVE) missing.clear();
        missing.add(keyId);
      }
    }
    return entry;
  }

  function decide(entry: Entry | undefined, presented: string): KeyVerification {
    if (!entry) return { ok: false, reason: 'unknown' };
    const presentedHash = hashKeyBytes(presented);
    if (presentedHash.length !== entry.hashBytes.length || !timingSafeEqual(presentedHash, entry.hashBytes)) {
      return { ok: false, reason: 'unknown' };
    }
    if (entry.key.state === 'revoked' || entry.appState === 'deleted')
      return { ok: false, reason: 'revoked' };
    if (entry.expiresAtMs <= clock.now()) return { ok: false, reason: 'expired' };
    if (entry.key.state === 'pending') return { ok: false, reason: 'pending' };
    if (entry.key.state === 'suspended' || stopping.has(entry.key.id))
      return { ok: false, reason: 'suspended' };
    if (entry.appState === 'pending') return { ok: false, reason: 'applicationPending' };
    if (entry.appState === 'suspended') return { ok: false, reason: 'applicationSuspended' };
    return { ok: true, key: entry.verified };
  }

  const verifier: KeyVerifier & {
    /** Is this exact origin registered by a live browser application (CORS preflights carry no key)? */
    isRegisteredOrigin(origin: string): Promise<boolean>;
    /** Drop one key from this process's cache (after a local commit). */
    invalidateKey(keyId: string): void;
    invalidateApplication(applicationId: string): void;
    invalidateAll(): void;
    /** Mark a cached key suspended at once (abuse detection), before its transaction commits. */
    markSuspended(keyId: string): void;
  } = {
    verify(presented: string) {
      if (typeof presented !== 'string') return { ok: false, reason: 'malformed' };
      // Hot path: a cached key is found by the id part at its fixed position; the hash comparison then
      // decides, so the checksum (which only spares lookups for garbage) is checked on misses alone.
      if (presented.length === KEY_LENGTH && presented.startsWith('srk_')) {
        const cached = entries.get(`key_${presented.slice(9, 29)}`);
        if (cached) return decide(cached, presented);
      }
      const parsed = parseKey(presented);
      if (!parsed.ok) return { ok: false, reason: 'malformed' };
      const entry = entries.get(parsed.id);
      if (entry) return decide(entry, presented);
      if (missing.has(parsed.id)) return { ok: false, reason: 'unknown' };
      let pending = inFlight.get(parsed.id);
      if (!pending) {
        pending = load(parsed.id).finally(() => inFlight.delete(parsed.id));
        inFlight.set(parsed.id, pending);
      }
      return pending.then((loaded) => decide(loaded, presented));
    },
    isRegisteredOrigin(origin: string) {
      if (!origins) {
        const loading = applicationsRepository.listCorsOrigins(db);
        origins = loading;
        // A failed load is retried on the next preflight rather than cached.
        loading.catch(() => {
          if (origins === loading) origins = undefined;
        });
      }
      return origins.then((set) => set.has(origin));
    },
    invalidateKey: forget,
    invalidateApplication: forgetApplication,
    invalidateAll: forgetAll,
    markSuspended(keyId) {
      stopping.add(keyId);
    },
  };
  return verifier;
}

export type DevelopersKeyVerifier = ReturnType<typeof createKeyVerifier>;
