import type { FastifyInstance } from 'fastify';
import { postForm } from '../../../http/web/index.ts';
import { sandboxPage } from '../../../web/portal/sandbox-pages.ts';
import { idParam, type Portal } from './portal-context.ts';
import { forms } from './portal-forms.ts';

/** What the portal needs of the sandbox module (DESIGN.md §5.4). */
export interface SandboxPortal {
  customers(): Promise<{ username: string; password: string; persona: string }[]>;
  reset(actor: { userId: string; organizationId: string; requestId?: string }): Promise<void>;
}

/**
 * `/portal/sandbox`: every signed-in developer sees the sandbox's test customers and their passwords (test
 * credentials of test data); a member who may change an organization's applications may reset the
 * sandbox's data on its behalf (audited with the organization).
 */
export function registerSandbox(signedIn: FastifyInstance, portal: Portal): void {
  const { organizations, access } = portal.deps;

  signedIn.get('/portal/sandbox', async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const sandbox = portal.deps.sandbox?.();
    const flash = await portal.flash.take(session);
    const page = sandboxPage({
      csrf: session.csrf,
      customers: sandbox ? await sandbox.customers() : [],
      organizations: (await organizations.list(actor)).map((org) => ({ id: org.id, name: org.name })),
      note: flash?.note,
    });
    return portal.send(request, reply, 200, 'Sandbox', page);
  });

  postForm(signedIn, '/portal/sandbox/organizations/:orgId/reset', forms.button, async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const organizationId = idParam(request, 'orgId');
    await access.requireOrganization(actor, organizationId, 'write');
    const sandbox = portal.deps.sandbox?.();
    if (!sandbox) return reply.redirect('/portal/sandbox', 303);
    await sandbox.reset({ userId: session.data.userId, organizationId, requestId: request.id });
    await portal.flash.set(session, { note: 'The sandbox data was reset to its seed.' });
    return reply.redirect('/portal/sandbox', 303);
  });
}
