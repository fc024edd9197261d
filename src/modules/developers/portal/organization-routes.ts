import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../errors/index.ts';
import { postForm } from '../../../http/web/index.ts';
import {
  type ApplicationDraft,
  dashboardPage,
  type FormError,
  invitationPage,
  landingPage,
  organizationPage,
} from '../../../web/portal/organization-pages.ts';
import { invitationDetails } from './invitation-details.ts';
import { idParam, type Portal } from './portal-context.ts';
import { forms } from './portal-forms.ts';

/** The dashboard: a landing page when signed out, else the user's organizations and (institution) approvals. */
export function registerDashboard(scope: FastifyInstance, portal: Portal): void {
  const { organizations, applications, apiKeys } = portal.deps;
  const dashboard = async (request: FastifyRequest, reply: FastifyReply) => {
    const session = await portal.sessions.load(request);
    if (!session)
      return portal.send(request, reply, 200, 'Welcome', landingPage({ registerUrl: '/auth/register' }));
    const { actor } = await portal.user(request);
    const roles = await organizations.rolesOf(session.data.userId);
    const apps = await applications.list({}, actor);
    const pendingKeys = actor.institution
      ? (await apiKeys.list({}, actor))
          .filter((key) => key.state === 'pending')
          .map((key) => ({
            ...key,
            applicationId: key.clientApplicationId,
            applicationName:
              apps.find((a) => a.id === key.clientApplicationId)?.name ?? key.clientApplicationId,
          }))
      : [];
    const page = dashboardPage({
      csrf: session.csrf,
      institution: actor.institution,
      pendingKeys,
      organizations: (await organizations.list(actor)).map((org) => ({
        id: org.id,
        name: org.name,
        role: roles.get(org.id) ?? 'institution',
        applications: apps.filter((a) => a.organizationId === org.id),
      })),
    });
    return portal.send(request, reply, 200, 'Dashboard', page);
  };
  scope.get('/portal', dashboard);
  scope.get('/portal/', dashboard);
}

/**
 * The organization page; after a refused application form, with the developer's input and every error
 * (400 or 422, as the service refused it), so nothing has to be typed again.
 */
export async function showOrganization(
  portal: Portal,
  request: FastifyRequest,
  reply: FastifyReply,
  orgId: string,
  form?: { draft: ApplicationDraft; errors: FormError[]; status: number },
): Promise<FastifyReply> {
  const { organizations, applications } = portal.deps;
  const { session, actor } = await portal.user(request);
  const org = await organizations.get(orgId, actor);
  const role = (await organizations.rolesOf(session.data.userId)).get(orgId);
  const canManage = actor.institution || role === 'owner' || role === 'admin';
  const flash = form ? undefined : await portal.flash.take(session);
  const page = organizationPage({
    csrf: session.csrf,
    org,
    role: role ?? 'institution',
    canManage,
    members: await organizations.members(orgId, actor),
    self: session.data.userId,
    invitations: canManage ? await organizations.openInvitations(orgId, actor) : [],
    invitationLink: flash?.invitationLink,
    applications: await applications.list({ organizationId: orgId }, actor),
    apis: portal.apiChoices(),
    draft: form?.draft,
    errors: form?.errors,
  });
  return portal.send(request, reply, form?.status ?? 200, org.name, page);
}

/** Organizations (create, show, invite) and joining one through an invitation link. */
export function registerOrganizations(signedIn: FastifyInstance, portal: Portal): void {
  const { organizations } = portal.deps;

  postForm(signedIn, '/portal/organizations', forms.createOrganization, async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const owner = { userId: session.data.userId, displayName: session.data.username };
    const org = await organizations.create({ name: request.body.name, owner }, actor);
    return reply.redirect(`/portal/organizations/${org.id}`, 303);
  });

  signedIn.get('/portal/organizations/:orgId', async (request, reply) =>
    showOrganization(portal, request, reply, idParam(request, 'orgId')),
  );

  postForm(signedIn, '/portal/organizations/:orgId/invitations', forms.invite, async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const orgId = idParam(request, 'orgId');
    const invitation = await organizations.invite(orgId, request.body.role, actor);
    await portal.flash.set(session, { invitationLink: invitation.link });
    return reply.redirect(`/portal/organizations/${orgId}`, 303);
  });

  postForm(
    signedIn,
    '/portal/organizations/:orgId/members/:userId/role',
    forms.changeRole,
    async (request, reply) => {
      const { actor } = await portal.user(request);
      const orgId = idParam(request, 'orgId');
      await organizations.changeRole(orgId, idParam(request, 'userId'), request.body.role, actor);
      return reply.redirect(`/portal/organizations/${orgId}#members`, 303);
    },
  );

  postForm(
    signedIn,
    '/portal/organizations/:orgId/members/:userId/remove',
    forms.button,
    async (request, reply) => {
      const { session, actor } = await portal.user(request);
      const orgId = idParam(request, 'orgId');
      const userId = idParam(request, 'userId');
      await organizations.removeMember(orgId, userId, actor);
      // Leaving an organization oneself ends one's access to its page too.
      const to = userId === session.data.userId ? '/portal' : `/portal/organizations/${orgId}#members`;
      return reply.redirect(to, 303);
    },
  );

  postForm(
    signedIn,
    '/portal/organizations/:orgId/invitations/:invitationId/revoke',
    forms.button,
    async (request, reply) => {
      const { actor } = await portal.user(request);
      const orgId = idParam(request, 'orgId');
      await organizations.revokeInvitation(orgId, idParam(request, 'invitationId'), actor);
      return reply.redirect(`/portal/organizations/${orgId}#members`, 303);
    },
  );

  signedIn.get('/portal/invitations/:token', async (request, reply) => {
    const { session } = await portal.user(request);
    const token = idParam(request, 'token');
    const details = await invitationDetails(portal, token);
    if (!details)
      throw new AppError('notFound', { detail: 'This invitation link was already used or has expired.' });
    return portal.send(
      request,
      reply,
      200,
      'Invitation',
      invitationPage({ csrf: session.csrf, token, ...details }),
    );
  });

  postForm(signedIn, '/portal/invitations/:token', forms.button, async (request, reply) => {
    const { session } = await portal.user(request);
    const token = idParam(request, 'token');
    const user = { userId: session.data.userId, displayName: session.data.username };
    const org = await organizations.accept(token, user);
    return reply.redirect(`/portal/organizations/${org.id}`, 303);
  });
}
