import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../errors/index.ts';
import { postForm } from '../../../http/web/index.ts';
import { revokeKeyPage } from '../../../web/portal/key-pages.ts';
import { idParam, type Portal } from './portal-context.ts';
import { forms } from './portal-forms.ts';

/** API keys: issue (shown once), rotate with an overlap, revoke, approve or reinstate (institution). */
export function registerKeys(signedIn: FastifyInstance, portal: Portal): void {
  const { apiKeys } = portal.deps;
  const backToApplication = (applicationId: string) => `/portal/applications/${applicationId}`;

  postForm(signedIn, '/portal/applications/:appId/keys', forms.issueKey, async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const appId = idParam(request, 'appId');
    const { label, expiresOn } = request.body;
    if (expiresOn && !/^\d{4}-\d{2}-\d{2}$/.test(expiresOn))
      throw new AppError('badRequest', {
        detail: 'The expiry date must be a date (YYYY-MM-DD).',
        errors: [{ in: 'body', name: 'expiresOn', message: 'must be a date (YYYY-MM-DD)' }],
      });
    const expiresAt = expiresOn ? `${expiresOn}T23:59:59.000Z` : undefined;
    const created = await apiKeys.create({ clientApplicationId: appId, label, expiresAt }, actor);
    await portal.flash.set(session, {
      applicationId: appId,
      apiKey: { id: created.view.id, key: created.key },
      note:
        created.view.state === 'pending'
          ? 'This production key works once the institution approves it.'
          : undefined,
    });
    return reply.redirect(backToApplication(appId), 303);
  });

  postForm(signedIn, '/portal/keys/:keyId/rotate', forms.rotateKey, async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const key = await apiKeys.get(idParam(request, 'keyId'), actor);
    const rotated = await apiKeys.rotate(key.id, { overlapSeconds: request.body.overlapSeconds }, actor);
    await portal.flash.set(session, {
      applicationId: key.clientApplicationId,
      apiKey: { id: rotated.view.id, key: rotated.key },
      note: `The previous key ${key.prefix}…${key.last4} works until ${rotated.previous.expiresAt}.`,
    });
    return reply.redirect(backToApplication(key.clientApplicationId), 303);
  });

  // Revoking asks first (a page, so it works without JavaScript) and says afterwards that it worked.
  signedIn.get('/portal/keys/:keyId/revoke', async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const key = await apiKeys.get(idParam(request, 'keyId'), actor);
    const page = revokeKeyPage({ csrf: session.csrf, key });
    return portal.send(request, reply, 200, 'Revoke an API key', page);
  });

  postForm(signedIn, '/portal/keys/:keyId/revoke', forms.revokeKey, async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const key = await apiKeys.get(idParam(request, 'keyId'), actor);
    if (request.body.confirm !== 'yes') return reply.redirect(`/portal/keys/${key.id}/revoke`, 303);
    await apiKeys.revoke(key.id, `revoked in the portal by ${session.data.username}`, actor);
    await portal.flash.set(session, {
      applicationId: key.clientApplicationId,
      notice: `API key ${key.prefix}…${key.last4} is revoked: calls with it now answer 401.`,
    });
    return reply.redirect(backToApplication(key.clientApplicationId), 303);
  });

  postForm(signedIn, '/portal/keys/:keyId/activate', forms.button, async (request, reply) => {
    const { session, actor } = await portal.user(request);
    const key = await apiKeys.get(idParam(request, 'keyId'), actor);
    await apiKeys.activate(key.id, `activated in the portal by ${session.data.username}`, actor);
    return reply.redirect(backToApplication(key.clientApplicationId), 303);
  });
}
