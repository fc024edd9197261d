import { AppError, problems, type ValidationIssue } from '../../errors/index.ts';
import type { Clock } from '../../lib/clock.ts';
import { isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { ChangeFeed } from '../../store/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { OAuthClientSpec, OAuthClients, TokenEndpointAuthMethod } from '../oauth/contract.ts';
import type { Access, Actor } from './access.ts';
import { type ApiKeys, type ApiKeyView, keyView } from './api-keys-service.ts';
import type { DevelopersRepository, Executor } from './developers-repository.ts';
import { type DevelopersKeyVerifier, TOPICS } from './key-verifier.ts';
import {
  ALL_SCOPES,
  APP_KINDS,
  APP_TRANSITIONS,
  type AppKind,
  type AppState,
  type ClientApplication,
  DEFAULT_SCOPES,
  type Environment,
  effectiveKeyState,
  type RatePlanRecord,
} from './model.ts';

/**
 * An application as callers see it (never a secret or hash): the stored record without its internal
 * fields, with the rate plan by name. `view()` copies field by field, as an allowlist.
 */
export type ApplicationView = Omit<ClientApplication, 'planId' | 'version' | 'createdBy'> & {
  ratePlan: string;
};

export interface CreateApplicationInput {
  organizationId: string;
  name: string;
  description?: string;
  kind: AppKind;
  redirectUris?: string[];
  corsOrigins?: string[];
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  scopes?: string[];
  apis?: string[];
  // Privileged (institution only):
  environment?: Environment;
  ratePlan?: string;
  state?: AppState;
  firstParty?: boolean;
  clientId?: string;
}

/** Fields a developer may change; everything else is privileged (DESIGN.md §4). */
export const DEVELOPER_FIELDS = [
  'name',
  'description',
  'redirectUris',
  'corsOrigins',
  'apis',
  'scopes',
] as const;
export const PRIVILEGED_FIELDS = [
  'state',
  'stateReason',
  'environment',
  'ratePlan',
  'organizationId',
] as const;

export interface ApplicationPatch {
  name?: string;
  description?: string;
  redirectUris?: string[];
  corsOrigins?: string[];
  apis?: string[];
  scopes?: string[];
  state?: AppState;
  stateReason?: string;
  environment?: Environment;
  ratePlan?: string;
  organizationId?: string;
}

const API_NAME = /^(\*|[A-Za-z][A-Za-z0-9_-]{0,63})$/;
const PRIVATE_SCHEME = /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:\/[^/]/;

function isLoopbackIp(hostname: string) {
  return hostname === '127.0.0.1' || hostname === '[::1]';
}

/** Exact redirect URIs: https, loopback http or a private-use scheme for native apps; no fragments. */
export function validateRedirectUris(kind: AppKind, uris: readonly string[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (uris.length > 10) issues.push({ in: 'body', name: 'redirectUris', message: 'at most 10' });
  if (kind !== 'service' && uris.length === 0) {
    issues.push({ in: 'body', name: 'redirectUris', message: 'at least one redirect URI is required' });
  }
  if (kind === 'service' && uris.length > 0) {
    issues.push({ in: 'body', name: 'redirectUris', message: 'service applications have no redirect URIs' });
  }
  for (const [i, uri] of uris.entries()) {
    const message = redirectUriProblem(kind, uri);
    if (message) issues.push({ in: 'body', name: `redirectUris.${i}`, message });
  }
  return issues;
}

function redirectUriProblem(kind: AppKind, uri: string): string | undefined {
  if (uri.length > 2000) return 'is too long';
  if (uri.includes('#')) return 'must not contain a fragment';
  if (kind === 'native' && PRIVATE_SCHEME.test(uri)) return undefined;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URI';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && kind === 'native' && isLoopbackIp(url.hostname)) return undefined;
  return 'must use https (http only for 127.0.0.1 / [::1] loopback redirects of native apps)';
}

export function validateCorsOrigins(kind: AppKind, origins: readonly string[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (origins.length > 0 && (kind === 'service' || kind === 'native')) {
    issues.push({ in: 'body', name: 'corsOrigins', message: 'only browser applications have CORS origins' });
  }
  for (const [i, origin] of origins.entries()) {
    const message = originProblem(origin);
    if (message) issues.push({ in: 'body', name: `corsOrigins.${i}`, message });
  }
  return issues;
}

function originProblem(origin: string): string | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return 'is not an origin';
  }
  if (url.origin !== origin) return 'must be an exact origin such as https://app.example';
  const local = isLoopbackIp(url.hostname) || url.hostname === 'localhost';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) return 'must use https';
  return undefined;
}

function oauthKind(kind: AppKind): OAuthClientSpec['kind'] {
  return kind === 'web' ? 'confidential' : kind === 'service' ? 'service' : 'public';
}

function grantTypesFor(kind: AppKind): OAuthClientSpec['grantTypes'] {
  return kind === 'service' ? ['client_credentials'] : ['authorization_code', 'refresh_token'];
}

/** Split asked-for scopes into those granted now and those that wait for the institution. */
function splitScopes(
  asked: readonly string[],
  actor: Actor,
  alreadyGranted: readonly string[] = [],
): { scopes: string[]; requested: string[] } {
  const unknown = asked.filter((s) => !(ALL_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new AppError('badRequest', {
      detail: `Unknown scope(s): ${unknown.join(', ')}.`,
      errors: [{ in: 'body', name: 'scopes', message: `unknown: ${unknown.join(', ')}` }],
    });
  }
  const unique = [...new Set(asked)];
  if (actor.institution) return { scopes: unique, requested: [] };
  // A developer keeps scopes the institution already granted; anything else beyond the default set waits.
  const grantable = (s: string) => DEFAULT_SCOPES.includes(s) || alreadyGranted.includes(s);
  return {
    scopes: unique.filter(grantable),
    requested: unique.filter((s) => !grantable(s)),
  };
}

export interface ApplicationsDeps {
  repo: DevelopersRepository;
  access: Access;
  clock: Clock;
  audit: AuditLog;
  changes: ChangeFeed;
  verifier: DevelopersKeyVerifier;
  apiKeys: ApiKeys;
  /** The authorization server's client registry (read lazily: the oauth module builds it). */
  clients: () => OAuthClients;
}

/**
 * Client applications: registration (with their OAuth client, in the same transaction), changes with
 * privileged fields reserved to the institution, state transitions with their cascades (suspension
 * disables the OAuth client and revokes its grants; deletion also revokes every key and removes the
 * client), and client-secret rotation.
 */
export function createApplications(deps: ApplicationsDeps) {
  const { repo, access, clock, audit, changes, verifier, apiKeys } = deps;
  const now = () => clock.now();
  let plans: Map<string, RatePlanRecord> | undefined;
  changes.subscribe(TOPICS.ratePlan, () => {
    plans = undefined;
  });

  async function planById(id: string) {
    if (!plans?.has(id)) plans = new Map((await repo.listPlans()).map((p) => [p.id, p]));
    return plans.get(id);
  }

  async function view(app: ClientApplication): Promise<ApplicationView> {
    const plan = await planById(app.planId);
    return {
      id: app.id,
      organizationId: app.organizationId,
      name: app.name,
      description: app.description,
      kind: app.kind,
      clientId: app.clientId,
      redirectUris: app.redirectUris,
      corsOrigins: app.corsOrigins,
      grantTypes: app.grantTypes,
      tokenEndpointAuthMethod: app.tokenEndpointAuthMethod,
      scopes: app.scopes,
      requestedScopes: app.requestedScopes,
      apis: app.apis,
      ratePlan: plan?.name ?? app.planId,
      environment: app.environment,
      state: app.state,
      stateReason: app.stateReason,
      firstParty: app.firstParty,
      createdAt: app.createdAt,
      updatedAt: app.updatedAt,
    };
  }

  const snapshot = (app: ClientApplication) => {
    const { createdAt: _c, updatedAt: _u, createdBy: _b, ...rest } = app;
    return rest;
  };

  function rejectPrivileged(fields: readonly string[], actor: Actor) {
    if (actor.institution || fields.length === 0) return;
    throw new AppError('badRequest', {
      detail: `These fields are read-only: ${fields.join(', ')}. To get more scopes, ask for them in "scopes"; the institution approves.`,
      errors: fields.map((name) => ({ in: 'body' as const, name, message: 'is read-only' })),
      reason: 'massAssignment',
    });
  }

  /** Apply a state change and its cascades inside `trx`. */
  async function cascadeState(
    trx: Executor,
    app: ClientApplication,
    to: AppState,
    reason: string,
    actor: Actor,
  ) {
    if (to === 'deleted') {
      const at = isoAt(now());
      for (const key of await repo.listKeys({ applicationIds: [app.id] }, trx)) {
        const state = effectiveKeyState(key, now());
        if (state === 'revoked' || state === 'expired') continue;
        await repo.updateKey(
          key.id,
          key.state,
          { state: 'revoked', stateReason: `application deleted: ${reason}`, updatedAt: at },
          trx,
        );
        await audit.record(
          {
            actor: { type: actor.type, id: actor.id },
            action: 'apiKey.revoked',
            target: { type: 'apiKey', id: key.id },
            reason: `application deleted: ${reason}`,
            before: { state: key.state },
            after: { state: 'revoked' },
            requestId: actor.requestId,
          },
          trx,
        );
        await changes.publish(TOPICS.apiKey, key.id, trx);
      }
    }
  }

  /**
   * The OAuth client's side of a state change, in the same transaction as the application's: a
   * suspended or deleted application's client is disabled (its grants revoked) atomically with it.
   */
  async function cascadeClient(trx: Executor, app: ClientApplication, to: AppState, reason: string) {
    const clients = deps.clients();
    if (to === 'suspended') await clients.setEnabled(app.clientId, false, reason, trx);
    if (to === 'active' && app.state === 'suspended')
      await clients.setEnabled(app.clientId, true, reason, trx);
    if (to === 'deleted') await clients.remove(app.clientId, reason, trx);
  }

  async function save(
    before: ClientApplication,
    after: ClientApplication,
    actor: Actor,
    action: string,
    reason: string | null,
    extra?: (trx: Executor) => Promise<void>,
  ) {
    await repo.db.transaction().execute(async (trx) => {
      const ok = await repo.updateApplication(after, before.version, trx);
      if (!ok) {
        throw new AppError('preconditionFailed', {
          detail: 'The application changed meanwhile; read it again.',
        });
      }
      await extra?.(trx);
      await audit.record(
        {
          actor: { type: actor.type, id: actor.id },
          action,
          target: { type: 'clientApplication', id: after.id },
          reason,
          before: snapshot(before),
          after: snapshot(after),
          requestId: actor.requestId,
        },
        trx,
      );
      await changes.publish(TOPICS.application, after.id, trx);
    });
    verifier.invalidateApplication(after.id);
  }

  const service = {
    view,

    async create(
      input: CreateApplicationInput,
      actor: Actor,
      options: { initialKey?: boolean } = {},
    ): Promise<{
      application: ApplicationView;
      clientSecret?: string;
      apiKey?: ApiKeyView & { key: string };
    }> {
      await access.requireOrganization(actor, input.organizationId, 'write');
      rejectPrivileged(
        (['environment', 'ratePlan', 'state', 'firstParty', 'clientId'] as const).filter(
          (f) => input[f] !== undefined,
        ),
        actor,
      );
      if (!APP_KINDS.includes(input.kind)) throw problems.badRequest('Unknown application kind.');
      const redirectUris = input.redirectUris ?? [];
      const corsOrigins = input.corsOrigins ?? [];
      const apis = [...new Set(input.apis ?? ['*'])];
      const issues = [
        ...validateRedirectUris(input.kind, redirectUris),
        ...validateCorsOrigins(input.kind, corsOrigins),
        ...apis
          .filter((a) => !API_NAME.test(a))
          .map((a) => ({ in: 'body' as const, name: 'apis', message: `not an API name: ${a}` })),
      ];
      if (!input.name.trim()) issues.push({ in: 'body', name: 'name', message: 'must not be blank' });
      if (issues.length > 0)
        throw new AppError('badRequest', { detail: 'The application is not valid.', errors: issues });
      const { scopes, requested } = splitScopes(input.scopes ?? DEFAULT_SCOPES, actor);
      const plan = await repo.findPlanByName(input.ratePlan ?? 'standard');
      if (!plan) throw problems.badRequest(`There is no rate plan named ${input.ratePlan}.`);
      const publicClient = input.kind === 'native' || input.kind === 'spa';
      const authMethod: TokenEndpointAuthMethod = publicClient
        ? 'none'
        : (input.tokenEndpointAuthMethod ?? 'client_secret_basic');
      if (!publicClient && authMethod === 'none') {
        throw problems.badRequest('Confidential applications must authenticate at the token endpoint.');
      }
      if (publicClient && input.tokenEndpointAuthMethod && input.tokenEndpointAuthMethod !== 'none') {
        throw problems.badRequest('Public applications (native, spa) use tokenEndpointAuthMethod "none".');
      }
      const environment = input.environment ?? 'sandbox';
      // Sandbox applications work at once; production ones wait for the institution (DESIGN.md §4).
      const state = input.state ?? (environment === 'sandbox' ? 'active' : 'pending');
      const org = await repo.findOrganization(input.organizationId);
      const at = isoAt(now());
      const id = newId('app');
      const result = await repo.db.transaction().execute(async (trx) => {
        const registered = await deps.clients().register(
          {
            clientId: input.clientId,
            name: input.name,
            applicationId: id,
            kind: oauthKind(input.kind),
            redirectUris,
            grantTypes: grantTypesFor(input.kind),
            tokenEndpointAuthMethod: authMethod,
            allowedScopes: scopes,
            firstParty: input.firstParty ?? false,
            organizationName: org?.name,
          },
          trx,
        );
        const app: ClientApplication = {
          id,
          organizationId: input.organizationId,
          name: input.name.trim(),
          description: input.description ?? '',
          kind: input.kind,
          clientId: registered.clientId,
          redirectUris,
          corsOrigins,
          grantTypes: grantTypesFor(input.kind),
          tokenEndpointAuthMethod: authMethod,
          scopes,
          requestedScopes: requested,
          apis,
          planId: plan.id,
          environment,
          state,
          stateReason: null,
          firstParty: input.firstParty ?? false,
          version: 1,
          createdBy: actor.id,
          createdAt: at,
          updatedAt: at,
        };
        await repo.insertApplication(app, trx);
        await audit.record(
          {
            actor: { type: actor.type, id: actor.id },
            action: 'clientApplication.created',
            target: { type: 'clientApplication', id },
            after: snapshot(app),
            requestId: actor.requestId,
          },
          trx,
        );
        await changes.publish(TOPICS.application, id, trx);
        let key: Awaited<ReturnType<ApiKeys['issue']>> | undefined;
        if (options.initialKey !== false) {
          const keyState = environment === 'production' && !actor.institution ? 'pending' : 'active';
          key = await apiKeys.issue(trx, app, { label: 'default', state: keyState }, actor);
        }
        return { app, clientSecret: registered.clientSecret, key };
      });
      verifier.invalidateApplication(id);
      if (result.key) verifier.invalidateKey(result.key.key.id);
      return {
        application: await view(result.app),
        ...(result.clientSecret ? { clientSecret: result.clientSecret } : {}),
        ...(result.key ? { apiKey: { ...keyView(result.key.key, now()), key: result.key.plaintext } } : {}),
      };
    },

    async get(applicationId: string, actor: Actor): Promise<ClientApplication> {
      return access.requireApplication(actor, applicationId, 'read');
    },

    async list(
      filter: { organizationId?: string; start?: number; limit?: number },
      actor: Actor,
    ): Promise<ClientApplication[]> {
      let organizationIds = await access.visibleOrganizations(actor);
      if (filter.organizationId) {
        if (organizationIds !== '*' && !organizationIds.includes(filter.organizationId)) return [];
        organizationIds = [filter.organizationId];
      }
      return repo.listApplications({ organizationIds, start: filter.start, limit: filter.limit });
    },

    async update(
      applicationId: string,
      patch: ApplicationPatch,
      actor: Actor,
      options: { ifMatchVersion?: number } = {},
    ): Promise<ClientApplication> {
      const before = await access.requireApplication(actor, applicationId, 'write');
      rejectPrivileged(
        PRIVILEGED_FIELDS.filter((f) => patch[f] !== undefined),
        actor,
      );
      if (options.ifMatchVersion !== undefined && options.ifMatchVersion !== before.version) {
        throw new AppError('preconditionFailed', {
          detail: 'The application has changed since you read it.',
        });
      }
      const after: ClientApplication = { ...before, version: before.version + 1, updatedAt: isoAt(now()) };
      const issues: ValidationIssue[] = [];
      if (patch.name !== undefined) {
        if (!patch.name.trim()) issues.push({ in: 'body', name: 'name', message: 'must not be blank' });
        after.name = patch.name.trim();
      }
      if (patch.description !== undefined) after.description = patch.description;
      if (patch.redirectUris !== undefined) {
        issues.push(...validateRedirectUris(before.kind, patch.redirectUris));
        after.redirectUris = patch.redirectUris;
      }
      if (patch.corsOrigins !== undefined) {
        issues.push(...validateCorsOrigins(before.kind, patch.corsOrigins));
        after.corsOrigins = patch.corsOrigins;
      }
      if (patch.apis !== undefined) {
        for (const a of patch.apis)
          if (!API_NAME.test(a)) issues.push({ in: 'body', name: 'apis', message: `not an API name: ${a}` });
        after.apis = [...new Set(patch.apis)];
      }
      if (issues.length > 0)
        throw new AppError('badRequest', { detail: 'The change is not valid.', errors: issues });
      if (patch.scopes !== undefined) {
        const { scopes, requested } = splitScopes(patch.scopes, actor, before.scopes);
        after.scopes = scopes;
        after.requestedScopes = actor.institution
          ? before.requestedScopes.filter((s) => !scopes.includes(s))
          : requested;
      }
      if (patch.environment !== undefined) after.environment = patch.environment;
      if (patch.ratePlan !== undefined) {
        const plan = await repo.findPlanByName(patch.ratePlan);
        if (!plan) throw problems.badRequest(`There is no rate plan named ${patch.ratePlan}.`);
        after.planId = plan.id;
      }
      if (patch.organizationId !== undefined) {
        if (!(await repo.findOrganization(patch.organizationId)))
          throw problems.badRequest('No such organization.');
        after.organizationId = patch.organizationId;
      }
      const reason = patch.stateReason ?? null;
      if (patch.state !== undefined && patch.state !== before.state) {
        if (!APP_TRANSITIONS[before.state].includes(patch.state)) {
          throw new AppError('conflict', {
            detail: `An application that is ${before.state} cannot become ${patch.state}.`,
          });
        }
        after.state = patch.state;
        after.stateReason = reason;
      }
      const clientChanged =
        after.name !== before.name ||
        after.redirectUris !== before.redirectUris ||
        after.scopes !== before.scopes;
      await save(before, after, actor, 'clientApplication.updated', reason, async (trx) => {
        if (clientChanged) {
          await deps
            .clients()
            .update(
              before.clientId,
              { name: after.name, redirectUris: after.redirectUris, allowedScopes: after.scopes },
              trx,
            );
        }
        if (after.state !== before.state) {
          await cascadeState(trx, before, after.state, reason ?? 'changed by the institution', actor);
          await cascadeClient(trx, before, after.state, reason ?? 'changed by the institution');
        }
      });
      if (after.state !== before.state) {
        for (const key of await repo.listKeys({ applicationIds: [after.id] })) verifier.invalidateKey(key.id);
      }
      return after;
    },

    /** Suspend, reinstate or approve an application (institution). */
    async setState(
      applicationId: string,
      to: AppState,
      reason: string,
      actor: Actor,
    ): Promise<ClientApplication> {
      const before = await access.requireApplication(
        actor,
        applicationId,
        to === 'deleted' ? 'manage' : 'read',
      );
      if (to !== 'deleted') access.requireInstitution(actor, `make applications ${to}`);
      if (!APP_TRANSITIONS[before.state].includes(to)) {
        throw new AppError('conflict', {
          detail: `An application that is ${before.state} cannot become ${to}.`,
        });
      }
      const after: ClientApplication = {
        ...before,
        state: to,
        stateReason: reason,
        version: before.version + 1,
        updatedAt: isoAt(now()),
      };
      const action = {
        active: before.state === 'pending' ? 'clientApplication.approved' : 'clientApplication.reinstated',
        suspended: 'clientApplication.suspended',
        deleted: 'clientApplication.deleted',
        pending: 'clientApplication.updated',
      }[to];
      await save(before, after, actor, action, reason, async (trx) => {
        await cascadeState(trx, before, to, reason, actor);
        await cascadeClient(trx, before, to, reason);
      });
      for (const key of await repo.listKeys({ applicationIds: [after.id] })) verifier.invalidateKey(key.id);
      return after;
    },

    async rotateSecret(
      applicationId: string,
      overlapSeconds: number,
      actor: Actor,
    ): Promise<{ clientId: string; clientSecret: string; previousExpiresAt: string }> {
      const app = await access.requireApplication(actor, applicationId, 'write');
      if (app.tokenEndpointAuthMethod === 'none') {
        throw new AppError('conflict', { detail: 'Public applications have no client secret.' });
      }
      if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > 30 * 86_400) {
        throw new AppError('badRequest', {
          detail: 'overlapSeconds must be an integer from 0 to 2592000.',
          errors: [{ in: 'body', name: 'overlapSeconds', message: 'is out of range' }],
        });
      }
      const rotated = await repo.db.transaction().execute(async (trx) => {
        const result = await deps.clients().rotateSecret(app.clientId, overlapSeconds, trx);
        await audit.record(
          {
            actor: { type: actor.type, id: actor.id },
            action: 'clientSecret.rotated',
            target: { type: 'clientApplication', id: app.id },
            after: { previousExpiresAt: result.previousExpiresAt, overlapSeconds },
            requestId: actor.requestId,
          },
          trx,
        );
        return result;
      });
      return { clientId: app.clientId, ...rotated };
    },
  };
  return service;
}

export type Applications = ReturnType<typeof createApplications>;
