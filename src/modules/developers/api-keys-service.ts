import { AppError, problems } from '../../errors/index.ts';
import type { Clock } from '../../lib/clock.ts';
import { isoAt } from '../../lib/clock.ts';
import type { ChangeFeed } from '../../store/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Access, Actor } from './access.ts';
import type { DevelopersRepository, Executor } from './developers-repository.ts';
import { generateKey } from './key-format.ts';
import type { DevelopersKeyVerifier } from './key-verifier.ts';
import { TOPICS } from './key-verifier.ts';
import {
  type ApiKeyRecord,
  type ClientApplication,
  effectiveKeyState,
  KEY_TRANSITIONS,
  type KeyState,
  type StoredKeyState,
} from './model.ts';

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
  repo: DevelopersRepository;
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
  const { repo, access, clock, audit, changes, verifier } = deps;
  const now = () => clock.now();

  /** Insert a new key for `app` inside the caller's transaction; returns the plaintext once. */
  async function issue(
    trx: Executor,
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
    await repo.insertKey(key, trx);
    await audit.record(
      {
        actor: { type: actor.type, id: actor.id },
        action: input.rotatedFrom ? 'apiKey.rotated' : 'apiKey.created',
        target: { type: 'apiKey', id: key.id },
        after: { ...snapshot(key), applicationId: app.id, rotatedFrom: key.rotatedFrom },
        requestId: actor.requestId,
      },
      trx,
    );
    // A process may remember this id as unknown (someone probed it): tell every process.
    await changes.publish(TOPICS.apiKey, key.id, trx);
    return { key, plaintext: generated.key };
  }

  function validateExpiry(expiresAt: string | null | undefined): string | null {
    if (expiresAt === undefined || expiresAt === null) return null;
    const ms = Date.parse(expiresAt);
    if (Number.isNaN(ms)) throw problems.badRequest('expiresAt is not a timestamp.');
    if (ms <= now()) {
      throw new AppError('badRequest', {
        detail: 'expiresAt must be in the future.',
        errors: [{ in: 'body', name: 'expiresAt', message: 'must be in the future' }],
      });
    }
    return isoAt(ms);
  }

  async function transition(
    keyId: string,
    to: StoredKeyState,
    options: { reason: string | null; actor: Actor; action: string; allowedFrom?: readonly KeyState[] },
  ): Promise<ApiKeyRecord> {
    const key = await repo.findKey(keyId);
    if (!key) throw problems.notFound();
    const current = effectiveKeyState(key, now());
    const allowed = options.allowedFrom ? options.allowedFrom.includes(current) : true;
    if (!allowed || !KEY_TRANSITIONS[current].includes(to)) {
      throw new AppError('conflict', {
        detail: `A key that is ${current} cannot become ${to}.`,
        reason: `keyTransition:${current}->${to}`,
      });
    }
    const at = isoAt(now());
    const updated: ApiKeyRecord = { ...key, state: to, stateReason: options.reason, updatedAt: at };
    await repo.db.transaction().execute(async (trx) => {
      const ok = await repo.updateKey(
        key.id,
        key.state,
        { state: to, stateReason: options.reason, updatedAt: at },
        trx,
      );
      if (!ok) throw problems.conflict('The key changed meanwhile; read it again.');
      await audit.record(
        {
          actor: { type: options.actor.type, id: options.actor.id },
          action: options.action,
          target: { type: 'apiKey', id: key.id },
          reason: options.reason,
          before: snapshot(key),
          after: snapshot(updated),
          requestId: options.actor.requestId,
        },
        trx,
      );
      await changes.publish(TOPICS.apiKey, key.id, trx);
    });
    verifier.invalidateKey(key.id);
    return updated;
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
      const issued = await repo.db
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
      const old = await repo.findKey(keyId);
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
      const oldExpiry = old.expiresAt === null ? overlapEnd : Math.min(Date.parse(old.expiresAt), overlapEnd);
      const previous: ApiKeyRecord = { ...old, expiresAt: isoAt(oldExpiry), updatedAt: at };
      const issued = await repo.db.transaction().execute(async (trx) => {
        const ok = await repo.updateKey(
          old.id,
          old.state,
          { expiresAt: previous.expiresAt, updatedAt: at },
          trx,
        );
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
      const key = await repo.findKey(keyId);
      if (!key) throw problems.notFound();
      await access.requireApplication(actor, key.applicationId, 'write');
      const updated = await transition(keyId, 'revoked', { reason, actor, action: 'apiKey.revoked' });
      return keyView(updated, now());
    },

    /** Approve a pending key or reinstate a suspended one: the institution only. */
    async activate(keyId: string, reason: string | null, actor: Actor): Promise<ApiKeyView> {
      const key = await repo.findKey(keyId);
      if (!key) throw problems.notFound();
      await access.requireApplication(actor, key.applicationId, 'read');
      access.requireInstitution(actor, 'approve or reinstate API keys');
      const from = effectiveKeyState(key, now());
      const updated = await transition(keyId, 'active', {
        reason,
        actor,
        action: from === 'pending' ? 'apiKey.approved' : 'apiKey.reinstated',
      });
      return keyView(updated, now());
    },

    /** Suspend an active key: the institution, or abuse detection. */
    async suspend(
      keyId: string,
      reason: string,
      actor: Actor,
      action = 'apiKey.suspended',
    ): Promise<ApiKeyView> {
      const key = await repo.findKey(keyId);
      if (!key) throw problems.notFound();
      await access.requireApplication(actor, key.applicationId, 'read');
      access.requireInstitution(actor, 'suspend API keys');
      const updated = await transition(keyId, 'suspended', { reason, actor, action });
      return keyView(updated, now());
    },

    async get(keyId: string, actor: Actor): Promise<ApiKeyView> {
      const key = await repo.findKey(keyId);
      if (!key) throw problems.notFound();
      await access.requireApplication(actor, key.applicationId, 'read');
      return keyView(key, now());
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
          orgs === '*' ? '*' : (await repo.listApplications({ organizationIds: orgs })).map((a) => a.id);
      }
      const keys = await repo.listKeys({ applicationIds, start: filter.start, limit: filter.limit });
      return keys.map((key) => keyView(key, now()));
    },
  };
}

export type ApiKeys = ReturnType<typeof createApiKeys>;
