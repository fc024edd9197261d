import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../errors/index.ts';
import { postForm } from '../../../http/web/index.ts';
import { parseIso } from '../../../lib/clock.ts';
import { applicationPage } from '../../../web/portal/application-pages.ts';
import { ALL_SCOPES, DEFAULT_SCOPES, ENVIRONMENTS } from '../model.ts';
import { showOrganization } from './organization-routes.ts';
import { idParam, type Portal } from './portal-context.ts';
import { forms, linesOf, SETTABLE_STATES } from './portal-forms.ts';
import { keyUsageCharts, usageRange } from './usage-charts.ts';

const EXPIRY_WARNING_MS = 7 * 86_400_000;

/** Client applications: register, show (with secrets shown once), settings, institution controls, delete. */
export function registerApplications(signedIn: FastifyInstance, portal: Portal): void {
  const { access, applications, apiKeys, organizations, plans } = portal.deps;

  postForm(
    signedIn,
    '/portal/organizations/:orgId/applications',
    forms.createApplication,
    async (request, reply) => {
      const { session, actor } = await portal.user(request);
      const organizationId = idParam(request, 'orgId');
      const { kind, ...values } = request.body;
      let created: Awaited<ReturnType<typeof applications.create>>;
      try {
        created = await applications.create(
          {
            organizationId,
            name: values.name,
            description: values.description,
            kind,
            redirectUris: kind === 'service' ? [] : linesOf(values.redirectUris),
            corsOrigins: kind === 'spa' ? linesOf(values.corsOrigins) : [],
            apis: values.apis,
          },
          actor,
        );
      } catch (error) {
        // A refused form comes back with the developer's input and every error at once (no dead end).
        // 400: outside the form's rules; 422: well-formed but unusable (an http redirect URI, say).
        if (!(error instanceof AppError) || (error.status !== 400 && error.status !== 422)) throw error;
        const errors = error.errors?.length
          ? error.errors.map((e) => ({ name: e.name, message: e.message }))
          : [{ name: 'form', message: error.detail ?? 'is not valid' }];
        return showOrganization(portal, request, reply, organizationId, {
          draft: { ...values, kind },
          errors,
          status: error.status,
        });
      }
      await portal.flash.set(session, {
        applicationId: created.application.id,
        clientSecret: created.clientSecret,
        apiKey: created.apiKey && { id: created.apiKey.id, key: created.apiKey.key },
      });
      return reply.redirect(`/portal/applications/${created.application.id}`, 303);
    },
  );

  signedIn.get('/portal/applications/:appId', async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const appId = idParam(request, 'appId');
    const application = await applications.get(appId, actor);
    const view = await applications.view(application);
    const keys = await apiKeys.list({ clientApplicationId: appId }, actor);
    const range = usageRange(
      request,
      portal.deps.context.clock.now(),
      keys.map((key) => key.id),
    );
    const flash = await portal.flash.take(session);
    const role = (await organizations.rolesOf(session.data.userId)).get(application.organizationId);
    const lastUse = await portal.deps.usageReports.lastUse(keys.map((key) => key.id));
    const page = applicationPage({
      csrf: session.csrf,
      app: view,
      // A live key that expires within a week is flagged, so it can be rotated in time.
      keys: keys.map((key) => ({
        ...key,
        lastUsedAt: lastUse.get(key.id) ?? null,
        expiresSoon:
          (key.state === 'active' || key.state === 'pending') &&
          key.expiresAt !== null &&
          parseIso(key.expiresAt) - portal.deps.context.clock.now() < EXPIRY_WARNING_MS,
      })),
      fresh: flash?.applicationId === appId && (flash.apiKey || flash.clientSecret) ? flash : undefined,
      notice: flash?.applicationId === appId ? flash.notice : undefined,
      canManage: actor.institution || role === 'owner' || role === 'admin',
      institution: actor.institution,
      usageRange: range,
      charts: await keyUsageCharts(portal, keys, range),
      apiChoices: portal.apiChoices(),
      allScopes: ALL_SCOPES,
      defaultScopes: DEFAULT_SCOPES,
      ratePlans: (await plans.list()).map((plan) => plan.name),
      states: SETTABLE_STATES,
      environments: ENVIRONMENTS,
    });
    return portal.send(request, reply, 200, view.name, page);
  });

  postForm(signedIn, '/portal/applications/:appId/secret', forms.rotateSecret, async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const appId = idParam(request, 'appId');
    const rotated = await applications.rotateSecret(appId, request.body.overlapSeconds, actor);
    await portal.flash.set(session, {
      applicationId: appId,
      clientSecret: rotated.clientSecret,
      note: `The previous secret works until ${rotated.previousExpiresAt}.`,
    });
    return reply.redirect(`/portal/applications/${appId}`, 303);
  });

  postForm(signedIn, '/portal/applications/:appId/settings', forms.settings, async (request, reply) => {
    const { actor } = await portal.user(request);
    const appId = idParam(request, 'appId');
    const values = request.body;
    const current = await applications.get(appId, actor);
    // The form lists the public APIs only: an app keeps the APIs it has beyond them, and "every API"
    // ('*') stays only if it was already there — ticking every box never widens an app to future APIs.
    const listed = [...portal.documents().keys()];
    const keepAll = current.apis.includes('*') && listed.every((api) => values.apis.includes(api));
    const unlisted = current.apis.filter((api) => api !== '*' && !listed.includes(api));
    await applications.update(
      appId,
      {
        name: values.name ?? current.name,
        description: values.description,
        ...(current.kind !== 'service' ? { redirectUris: linesOf(values.redirectUris) } : {}),
        ...(current.kind === 'spa' ? { corsOrigins: linesOf(values.corsOrigins) } : {}),
        apis: keepAll ? ['*'] : [...values.apis, ...unlisted],
        scopes: values.scopes,
      },
      actor,
    );
    return reply.redirect(`/portal/applications/${appId}`, 303);
  });

  postForm(signedIn, '/portal/applications/:appId/institution', forms.institution, async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const appId = idParam(request, 'appId');
    access.requireInstitution(actor, 'change privileged fields');
    const values = request.body;
    const current = await applications.get(appId, actor);
    const reason = values.stateReason.trim() || `changed in the portal by ${session.data.username}`;
    await applications.update(
      appId,
      {
        ...(values.environment ? { environment: values.environment } : {}),
        ...(values.ratePlan ? { ratePlan: values.ratePlan } : {}),
        ...(values.state && values.state !== current.state
          ? { state: values.state, stateReason: reason }
          : {}),
      },
      actor,
    );
    return reply.redirect(`/portal/applications/${appId}`, 303);
  });

  postForm(
    signedIn,
    '/portal/applications/:appId/delete',
    forms.deleteApplication,
    async (request, reply) => {
      const { session, actor } = await portal.user(request);
      const appId = idParam(request, 'appId');
      if (request.body.confirm !== 'yes')
        throw new AppError('badRequest', { detail: 'Tick "I understand" to delete the application.' });
      const reason = `deleted in the portal by ${session.data.username}`;
      const deleted = await applications.setState(appId, 'deleted', reason, actor);
      return reply.redirect(`/portal/organizations/${deleted.organizationId}`, 303);
    },
  );
}
