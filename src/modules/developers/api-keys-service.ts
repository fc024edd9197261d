import type { Kysely } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import { AppError, problems } from '../../errors/index.ts';
import { type Clock, isoAt, parseIso } from '../../lib/clock.ts';
import type { ChangeFeed } from '../../store/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { type Access, type Actor, auditedBy } from './access.ts';
import { apiKeysRepository as keys } from './api-keys-repository.ts';
import { applicationsRepository } from './applications-repository.ts';
import { generateKey } from './key-format.ts';
import type { DevelopersKeyVerifier } from './key-verifier.ts';
import { TOPICS } from './key-verifier.ts';
import type { ApiKeyRecord, ClientApplication, KeyState, StoredKeyState } from './model.ts';
import { effectiveKeyState, KEY_TRANSITIONS } from './rules.ts';

export const DEFAULT_OVERLAP_SECONDS = 86_400;
export const MAX_OVERLAP_SECONDS = 30 * 86_400;

/** An API key as callers see it: never the hash. */
export interface ApiKeyView {
  id: string;
  clientApplicationId: string;
  label: string;
  prefix: string;
  last4: string;
  state: KeyState;
  stateReason: string | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  rotatedFrom: string | null;
}

export function keyView(key: ApiKeyRecord, nowMs: number): ApiKeyView {
  return {
    id: key.id,
    clientApplicationId: key.applicationId,
    label: key.label,
    prefix: key.prefix,
    last4: key.last4,
    state: effectiveKeyState(key, nowMs),
    stateReason: key.stateReason,
    createdAt: key.createdAt,
    updatedAt: key.updatedAt,
    expiresAt: key.expiresAt,
    rotatedFrom: key.rotatedFrom,
  };
}

/** Audit snapshot of a key (no hash). */
const snapshot = (key: ApiKeyRecord) => ({
  state: key.state,
  stateReason: key.stateReason,
  expiresAt: key.expiresAt,
  prefix: key.prefix,
  last4: key.last4,
});

export interface ApiKeysDeps {
  db: Kysely<Database>;
  access: Access;
  clock: Clock;
  audit: AuditLog;
  changes: ChangeFeed;
  verifier: DevelopersKeyVerifier;
}

/**
 * API key lifecycle (DESIGN.md §4): create (shown once), rotate with overlap, revoke, suspend, approve or
 * reinstate. Every transition is a compare-and-set on the stored state, audited and published on the
 * change feed in the same transaction, then dropped from this process's verifier cache at once.
 */
export function createApiKeys(deps: ApiKeysDeps) {
  const { db, access, clock, audit, changes, verifier } = deps;
  const now = () => clock.now();

  /** Insert a new key for `app` inside the caller's transaction; returns the plaintext once. */
  async function issue(
    ex: Executor,
    app: ClientApplication,
    input: { label?: string; expiresAt?: string | null; state: StoredKeyState; rotatedFrom?: string },
    actor: Actor,
  ): Promise<{ key: ApiKeyRecord; plaintext: string }> {
    const generated = generateKey(app.environment);
    const at = isoAt(now());
    const key: ApiKeyRecord = {
      id: generated.id,
      applicationId: app.id,
      label: input.label ?? '',
      prefix: generated.prefix,
      last4: generated.last4,
      secretHash: generated.hash,
      state: input.state,
      stateReason: null,
      expiresAt: input.expiresAt ?? null,
      rotatedFrom: input.rotatedFrom ?? null,
      createdBy: actor.id,
      createdAt: at,
      updatedAt: at,
    };
    await keys.insert(ex, key);
    await audit.record(
      {
        ...auditedBy(actor),
        action: input.rotatedFrom ? 'apiKey.rotated' : 'apiKey.created',
        target: { type: 'apiKey', id: key.id },
        after: { ...snapshot(key), applicationId: app.id, rotatedFrom: key.rotatedFrom },
      },
      ex,
    );
    // A process may remember this id as unknown (someone probed it): tell every process.
    await changes.publish(TOPICS.apiKey, key.id, ex);
    return { key, plaintext: generated.key };
  }

  function validateExpiry(expiresAt: string | null | undefined): string | null {
    if (expiresAt === undefined || expiresAt === null) return null;
    const ms = parseIso(expiresAt);
    if (Number.isNaN(ms)) throw problems.badRequest('expiresAt is not a timestamp.');
    if (ms <= now()) {
      throw new AppError('badRequest', {
        detail: 'expiresAt must be in the future.',
        errors: [{ in: 'body', name: 'expiresAt', message: 'must be in the future' }],
      });
    }
    return isoAt(ms);
  }

  /**
   * Move a key to `to` inside `ex`: a compare-and-set on the stored state, audited and published with
   * the change. 409 when the state machine forbids it or the key changed meanwhile.
   */
  async function applyTransition(
    ex: Executor,
    key: ApiKeyRecord,
    to: StoredKeyState,
    options: { reason: string | null; actor: Actor; action: string },
  ): Promise<ApiKeyRecord> {
    const current = effectiveKeyState(key, now());
    if (!KEY_TRANSITIONS[current].includes(to)) {
      throw new AppError('conflict', {
        detail: `A key that is ${current} cannot become ${to}.`,
        reason: `keyTransition:${current}->${to}`,
      });
    }
    const at = isoAt(now());
    const updated: ApiKeyRecord = { ...key, state: to, stateReason: options.reason, updatedAt: at };
    const ok = await keys.update(ex, key.id, key.state, {
      state: to,
      stateReason: options.reason,
      updatedAt: at,
    });
    if (!ok) throw problems.conflict('The key changed meanwhile; read it again.');
    await audit.record(
      {
        ...auditedBy(options.actor),
        action: options.action,
        target: { type: 'apiKey', id: key.id },
        reason: options.reason,
        before: snapshot(key),
        after: snapshot(updated),
      },
      ex,
    );
    await changes.publish(TOPICS.apiKey, key.id, ex);
    return updated;
  }

  async function transition(
    key: ApiKeyRecord,
    to: StoredKeyState,
    options: { reason: string | null; actor: Actor; action: string },
  ): Promise<ApiKeyView> {
    const updated = await db.transaction().execute((trx) => applyTransition(trx, key, to, options));
    verifier.invalidateKey(key.id);
    return keyView(updated, now());
  }

  /** The key if the actor may `need` its application; 404 otherwise (as for a missing id). */
  async function requireKey(keyId: string, actor: Actor, need: 'read' | 'write'): Promise<ApiKeyRecord> {
    const key = await keys.find(db, keyId);
    if (!key) throw problems.notFound();
    await access.requireApplication(actor, key.applicationId, need);
    return key;
  }

  return {
    issue,

    async create(
      input: { clientApplicationId: string; label?: string; expiresAt?: string | null },
      actor: Actor,
    ): Promise<{ view: ApiKeyView; key: string }> {
      const app = await access.requireApplication(actor, input.clientApplicationId, 'write');
      const expiresAt = validateExpiry(input.expiresAt);
      // Production keys wait for the institution's approval; sandbox keys work at once (DESIGN.md §4).
      const state: StoredKeyState = app.environment === 'production' ? 'pending' : 'active';
      const issued = await db
        .transaction()
        .execute((trx) => issue(trx, app, { label: input.label, expiresAt, state }, actor));
      verifier.invalidateKey(issued.key.id);
      return { view: keyView(issued.key, now()), key: issued.plaintext };
    },

    /** New key (same state as the old one); the old key expires after the overlap (0 = at once). */
    async rotate(
      keyId: string,
      input: { overlapSeconds?: number; label?: string },
      actor: Actor,
    ): Promise<{ view: ApiKeyView; key: string; previous: ApiKeyView }> {
      const old = await keys.find(db, keyId);
      if (!old) throw problems.notFound();
      const app = await access.requireApplication(actor, old.applicationId, 'write');
      const overlap = input.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS;
      if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_OVERLAP_SECONDS) {
        throw new AppError('badRequest', {
          detail: `overlapSeconds must be an integer from 0 to ${MAX_OVERLAP_SECONDS}.`,
          errors: [{ in: 'body', name: 'overlapSeconds', message: 'is out of range' }],
        });
      }
      const current = effectiveKeyState(old, now());
      if (current !== 'active' && current !== 'pending') {
        throw new AppError('conflict', { detail: `A key that is ${current} cannot be rotated.` });
      }
      const at = isoAt(now());
      const overlapEnd = now() + overlap * 1000;
      const oldExpiry = old.expiresAt === null ? overlapEnd : Math.min(parseIso(old.expiresAt), overlapEnd);
      const previous: ApiKeyRecord = { ...old, expiresAt: isoAt(oldExpiry), updatedAt: at };
      const issued = await db.transaction().execute(async (trx) => {
        const ok = await keys.update(trx, old.id, old.state, {
          expiresAt: previous.expiresAt,
          updatedAt: at,
        });
        if (!ok) throw problems.conflict('The key changed meanwhile; read it again.');
        await changes.publish(TOPICS.apiKey, old.id, trx);
        return issue(
          trx,
          app,
          { label: input.label ?? old.label, state: old.state, rotatedFrom: old.id },
          actor,
        );
      });
      verifier.invalidateKey(old.id);
      verifier.invalidateKey(issued.key.id);
      return { view: keyView(issued.key, now()), key: issued.plaintext, previous: keyView(previous, now()) };
    },

    /** Revoke (final). Organization members and the institution may revoke. */
    async revoke(keyId: string, reason: string | null, actor: Actor): Promise<ApiKeyView> {
      const key = await requireKey(keyId, actor, 'write');
      return transition(key, 'revoked', { reason, actor, action: 'apiKey.revoked' });
    },

    /** Approve a pending key or reinstate a suspended one: the institution only. */
    async activate(keyId: string, reason: string | null, actor: Actor): Promise<ApiKeyView> {
      const key = await requireKey(keyId, actor, 'read');
      access.requireInstitution(actor, 'approve or reinstate API keys');
      const action = effectiveKeyState(key, now()) === 'pending' ? 'apiKey.approved' : 'apiKey.reinstated';
      return transition(key, 'active', { reason, actor, action });
    },

    /** Suspend an active key: the institution, or abuse detection (`apiKey.autoSuspended`). */
    async suspend(
      keyId: string,
      reason: string,
      actor: Actor,
      action: 'apiKey.suspended' | 'apiKey.autoSuspended' = 'apiKey.suspended',
    ): Promise<ApiKeyView> {
      const key = await requireKey(keyId, actor, 'read');
      access.requireInstitution(actor, 'suspend API keys');
      return transition(key, 'suspended', { reason, actor, action });
    },

    /**
     * Revoke every live key of an application inside the caller's transaction (the application is being
     * deleted); call `forgetKeysOf` after the commit.
     */
    async revokeAllOf(ex: Executor, applicationId: string, reason: string, actor: Actor): Promise<void> {
      for (const key of await keys.list(ex, { applicationIds: [applicationId] })) {
        const state = effectiveKeyState(key, now());
        if (state === 'revoked' || state === 'expired') continue;
        await applyTransition(ex, key, 'revoked', { reason, actor, action: 'apiKey.revoked' });
      }
    },

    /** Drop every key of an application from this process's verifier cache (after a committed change). */
    async forgetKeysOf(applicationId: string): Promise<void> {
      for (const key of await keys.list(db, { applicationIds: [applicationId] }))
        verifier.invalidateKey(key.id);
    },

    async get(keyId: string, actor: Actor): Promise<ApiKeyView> {
      return keyView(await requireKey(keyId, actor, 'read'), now());
    },

    async list(
      filter: { clientApplicationId?: string; start?: number; limit?: number },
      actor: Actor,
    ): Promise<ApiKeyView[]> {
      let applicationIds: string[] | '*';
      if (filter.clientApplicationId) {
        await access.requireApplication(actor, filter.clientApplicationId, 'read');
        applicationIds = [filter.clientApplicationId];
      } else {
        const orgs = await access.visibleOrganizations(actor);
        applicationIds =
          orgs === '*'
            ? '*'
            : (await applicationsRepository.list(db, { organizationIds: orgs, excludeFirstParty: true })).map(
                (a) => a.id,
              );
      }
      const found = await keys.list(db, { applicationIds, start: filter.start, limit: filter.limit });
      return found.map((key) => keyView(key, now()));
    },
  };
}

export type ApiKeys = ReturnType<typeof createApiKeys>;
