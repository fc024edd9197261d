import type { Executor } from '../../db/index.ts';
import { AppError, problems, type ValidationIssue } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { TokenEndpointAuthMethod } from '../oauth/contract.ts';
import { type Actor, auditedBy } from './access.ts';
import type { ApiKeys, ApiKeyView } from './api-keys-service.ts';
import { keyView } from './api-keys-service.ts';
import {
  type ApplicationStatesDeps,
  applicationSnapshot,
  createApplicationStates,
} from './application-states.ts';
import type { ApplicationPatch, ApplicationView, CreateApplicationInput } from './applications-model.ts';
import { applicationsRepository as applications } from './applications-repository.ts';
import { TOPICS } from './key-verifier.ts';
import type { ChangeRequest, RequestKind } from './model.ts';
import {
  APP_KINDS,
  APP_STATES,
  type AppKind,
  type ClientApplication,
  DEFAULT_SCOPES,
  ENVIRONMENTS,
  TOKEN_ENDPOINT_AUTH_METHODS,
} from './model.ts';
import { organizationsRepository } from './organizations-repository.ts';
import type { Plans } from './plans-service.ts';
import { withReferenceRedirect } from './portal/oauth2-redirect.ts';
import { requestsRepository } from './requests-repository.ts';
import { fileRequest } from './requests-service.ts';
import {
  assertAppTransition,
  fieldsSet,
  grantTypesFor,
  isPublicKind,
  oauthKind,
  oneOf,
  optionalOneOf,
  PRIVILEGED_CREATE_FIELDS,
  PRIVILEGED_FIELDS,
  rejectPrivileged,
  splitScopes,
  validateApiNames,
  validateCorsOrigins,
  validateRedirectUris,
} from './rules.ts';

export type { ApplicationPatch, ApplicationView, CreateApplicationInput } from './applications-model.ts';

interface ApplicationsDeps extends ApplicationStatesDeps {
  plans: Plans;
  /** The platform's public URL: sandbox apps get the API reference's redirect page (portal). */
  baseUrl?: string;
  /** Names of the APIs the gateway serves (an application subscribes to these, or to `*`). */
  apiNames: () => readonly string[];
}

/** Well-formed but unusable settings (a redirect URI, an origin, an API name): 422 naming each field. */
function invalid(detail: string, issues: ValidationIssue[]): void {
  if (issues.length > 0) throw new AppError('unprocessableEntity', { detail, errors: issues });
}

/** The authentication method of a new application's OAuth client: public kinds have none. */
function authMethodFor(kind: AppKind, asked: TokenEndpointAuthMethod | undefined): TokenEndpointAuthMethod {
  if (isPublicKind(kind)) {
    if (asked && asked !== 'none') {
      throw problems.badRequest('Public applications (native, spa) use tokenEndpointAuthMethod "none".');
    }
    return 'none';
  }
  if (asked === 'none')
    throw problems.badRequest('Confidential applications must authenticate at the token endpoint.');
  return asked ?? 'client_secret_basic';
}

/**
 * Client applications: registration (with their OAuth client and first key, in one transaction), changes
 * with privileged fields reserved to the institution, state transitions with their cascades
 * (`application-states.ts`), and client-secret rotation.
 */
export function createApplications(deps: ApplicationsDeps) {
  const { db, access, clock, audit, changes, verifier, apiKeys, plans } = deps;
  const now = () => clock.now();
  const states = createApplicationStates(deps);

  async function view(app: ClientApplication): Promise<ApplicationView> {
    const plan = await plans.byId(app.planId);
    const pending = await requestsRepository.list(db, { applicationId: app.id, state: 'pending' });
    const scopeRequest = pending.find((r) => r.kind === 'scope');
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
      // Scope requests live in the request queue; this field is their view (kept for compatibility).
      requestedScopes: scopeRequest?.requested ?? [],
      apis: app.apis,
      ratePlan: plan?.name ?? app.planId,
      environment: app.environment,
      state: app.state,
      stateReason: app.stateReason,
      firstParty: app.firstParty,
      createdAt: app.createdAt,
      updatedAt: app.updatedAt,
      pendingChanges: pending.map((r) => ({ requestId: r.id, kind: r.kind, requested: r.requested })),
    };
  }

  /**
   * The institution granted scopes by changing the application itself: what a pending scope request asked
   * for and now holds is no longer pending (approved when nothing is left).
   */
  async function settleScopeRequest(trx: Executor, app: ClientApplication, actor: Actor): Promise<void> {
    const pending = (await requestsRepository.list(trx, { applicationId: app.id, state: 'pending' })).find(
      (r) => r.kind === 'scope',
    );
    if (!pending) return;
    const remaining = pending.requested.filter((scope) => !app.scopes.includes(scope));
    if (remaining.length === pending.requested.length) return;
    if (remaining.length > 0) {
      await requestsRepository.updatePending(trx, pending.id, {
        requested: remaining,
        requestedBy: pending.requestedBy,
        createdAt: pending.createdAt,
      });
      return;
    }
    await requestsRepository.decide(trx, pending.id, {
      state: 'approved',
      decidedBy: actor.id ?? actor.type,
      decidedAt: isoAt(now()),
      reason: 'granted by a change of the application',
    });
  }

  const service = {
    view,
    setState: states.setState,

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
      rejectPrivileged(fieldsSet(input, PRIVILEGED_CREATE_FIELDS), actor.institution);
      const kind = oneOf('kind', APP_KINDS, input.kind);
      const environment = optionalOneOf('environment', ENVIRONMENTS, input.environment) ?? 'sandbox';
      const requestedState = optionalOneOf('state', APP_STATES, input.state);
      const asked = optionalOneOf(
        'tokenEndpointAuthMethod',
        TOKEN_ENDPOINT_AUTH_METHODS,
        input.tokenEndpointAuthMethod,
      );
      let redirectUris = input.redirectUris ?? [];
      const corsOrigins = input.corsOrigins ?? [];
      const apis = [...new Set(input.apis ?? ['*'])];
      const issues = [
        ...validateRedirectUris(kind, redirectUris),
        ...validateCorsOrigins(kind, corsOrigins),
        ...validateApiNames(apis, deps.apiNames(), actor.institution),
      ];
      if (!input.name.trim()) issues.push({ in: 'body', name: 'name', message: 'must not be blank' });
      invalid('The application is not valid.', issues);
      redirectUris = withReferenceRedirect(deps.baseUrl, { environment, kind }, redirectUris);
      const { scopes, requested } = splitScopes(input.scopes ?? DEFAULT_SCOPES, actor.institution);
      const plan = await plans.findByName(input.ratePlan ?? 'standard');
      if (!plan) throw problems.badRequest(`There is no rate plan named ${input.ratePlan}.`);
      const authMethod = authMethodFor(kind, asked);
      // Sandbox applications work at once; production ones wait for the institution (DESIGN.md §4).
      const state = requestedState ?? (environment === 'sandbox' ? 'active' : 'pending');
      const org = await organizationsRepository.find(db, input.organizationId);
      const at = isoAt(now());
      const id = newId('app');
      const result = await db.transaction().execute(async (trx) => {
        const registered = await deps.clients().register(
          {
            clientId: input.clientId,
            name: input.name,
            applicationId: id,
            kind: oauthKind(kind),
            redirectUris,
            grantTypes: grantTypesFor(kind),
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
          kind,
          clientId: registered.clientId,
          redirectUris,
          corsOrigins,
          grantTypes: grantTypesFor(kind),
          tokenEndpointAuthMethod: authMethod,
          scopes,
          requestedScopes: [],
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
        await applications.insert(trx, app);
        await audit.record(
          {
            ...auditedBy(actor),
            action: 'clientApplication.created',
            target: { type: 'clientApplication', id },
            after: applicationSnapshot(app),
          },
          trx,
        );
        await changes.publish(TOPICS.application, id, trx);
        if (requested.length > 0)
          await fileRequest(trx, { audit, now: now() }, app, 'scope', requested, actor);
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

    /** Live applications the actor may see (optionally of one organization), oldest first. */
    async list(
      filter: { organizationId?: string; start?: number; limit?: number },
      actor: Actor,
    ): Promise<ClientApplication[]> {
      let organizationIds = await access.visibleOrganizations(actor);
      if (filter.organizationId) {
        if (organizationIds !== '*' && !organizationIds.includes(filter.organizationId)) return [];
        organizationIds = [filter.organizationId];
      }
      return applications.list(db, {
        organizationIds,
        excludeFirstParty: !actor.institution,
        start: filter.start,
        limit: filter.limit,
      });
    },

    /**
     * Change an application. What a developer may not change alone becomes a request the institution
     * decides (DESIGN.md §5.1, §5.5): scopes beyond the default set, and the redirect URIs of a production
     * application; those fields stay as they are until then. The FI administrator's changes apply at once.
     */
    async change(
      applicationId: string,
      patch: ApplicationPatch,
      actor: Actor,
      options: { ifMatchVersion?: number } = {},
    ): Promise<{ application: ClientApplication; requests: ChangeRequest[] }> {
      const asks: { kind: RequestKind; requested: string[] }[] = [];
      const before = await access.requireApplication(actor, applicationId, 'write');
      // A developer asks to promote a sandbox app to production (DESIGN.md §5.5): a request, not a change.
      if (!actor.institution && patch.environment === 'production' && before.environment === 'sandbox') {
        const { environment: _promote, ...rest } = patch;
        patch = rest;
        asks.push({ kind: 'production', requested: [] });
      }
      rejectPrivileged(fieldsSet(patch, PRIVILEGED_FIELDS), actor.institution);
      const environment = optionalOneOf('environment', ENVIRONMENTS, patch.environment);
      const state = optionalOneOf('state', APP_STATES, patch.state);
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
        const same = JSON.stringify(patch.redirectUris) === JSON.stringify(before.redirectUris);
        // A production app's redirect URIs decide where its users' codes go: the institution approves.
        if (!actor.institution && before.environment === 'production' && !same) {
          asks.push({ kind: 'redirectUris', requested: [...patch.redirectUris] });
        } else after.redirectUris = patch.redirectUris;
      }
      if (patch.corsOrigins !== undefined) {
        issues.push(...validateCorsOrigins(before.kind, patch.corsOrigins));
        after.corsOrigins = patch.corsOrigins;
      }
      if (patch.apis !== undefined) {
        issues.push(...validateApiNames(patch.apis, deps.apiNames(), actor.institution));
        after.apis = [...new Set(patch.apis)];
      }
      invalid('The change is not valid.', issues);
      if (patch.scopes !== undefined) {
        const { scopes, requested } = splitScopes(patch.scopes, actor.institution, before.scopes);
        if (requested.length > 0) asks.push({ kind: 'scope', requested });
        else after.scopes = scopes;
      }
      if (environment !== undefined) after.environment = environment;
      if (patch.ratePlan !== undefined) {
        const plan = await plans.findByName(patch.ratePlan);
        if (!plan) throw problems.badRequest(`There is no rate plan named ${patch.ratePlan}.`);
        after.planId = plan.id;
      }
      if (patch.organizationId !== undefined) {
        if (!(await organizationsRepository.find(db, patch.organizationId)))
          throw problems.badRequest('No such organization.');
        after.organizationId = patch.organizationId;
      }
      const reason = patch.stateReason ?? null;
      if (state !== undefined && state !== before.state) {
        assertAppTransition(before.state, state);
        after.state = state;
        after.stateReason = reason;
      }
      const filed: ChangeRequest[] = [];
      const clientChanged =
        after.name !== before.name ||
        after.redirectUris !== before.redirectUris ||
        after.scopes !== before.scopes;
      await states.save(
        before,
        after,
        { actor, action: 'clientApplication.updated', reason },
        async (trx) => {
          if (clientChanged) {
            const change = {
              name: after.name,
              redirectUris: after.redirectUris,
              allowedScopes: after.scopes,
            };
            await deps.clients().update(before.clientId, change, trx);
          }
          if (after.state !== before.state) {
            await states.cascade(trx, before, after.state, reason ?? 'changed by the institution', actor);
          }
          for (const ask of asks) {
            filed.push(await fileRequest(trx, { audit, now: now() }, after, ask.kind, ask.requested, actor));
          }
          if (actor.institution && patch.scopes !== undefined) {
            await settleScopeRequest(trx, after, actor);
          }
        },
      );
      if (after.state !== before.state) await apiKeys.forgetKeysOf(after.id);
      return { application: after, requests: filed };
    },

    /** `change`, for callers that need only the application (the portal, the demo seeder). */
    async update(
      applicationId: string,
      patch: ApplicationPatch,
      actor: Actor,
      options: { ifMatchVersion?: number } = {},
    ): Promise<ClientApplication> {
      return (await service.change(applicationId, patch, actor, options)).application;
    },

    /** A new client secret; the previous one stays valid for `overlapSeconds`. */
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
      const rotated = await db.transaction().execute(async (trx) => {
        const result = await deps.clients().rotateSecret(app.clientId, overlapSeconds, trx);
        await audit.record(
          {
            ...auditedBy(actor),
            action: 'clientSecret.rotated',
            target: { type: 'clientApplication', id: app.id },
            after: { previousExpiresAt: result.previousExpiresAt, overlapSeconds },
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
