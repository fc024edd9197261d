import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { field, form, postForm } from '../../../http/web/index.ts';
import { consentPage } from '../../../web/auth/pages.ts';
import { describeScope } from '../../identity/index.ts';
import type { InteractionContext, Live } from './interaction-context.ts';

const consentForm = form({ decision: field.oneOf(['approve', 'deny']) });

interface PromptDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** Consent: third-party clients ask the user (approve or deny); first-party clients are approved at once. */
export function createConsentStep(ctx: InteractionContext) {
  const { identity, audience } = ctx.deps;

  /** Grant what the prompt is missing and go back to the provider (303). */
  async function approve(request: FastifyRequest, reply: FastifyReply, live: Live) {
    const { provider, interaction } = live;
    const details = interaction.prompt.details as PromptDetails;
    const accountId = interaction.session?.accountId;
    // A session opened through an app of one environment must not yield a code for the other (§5.4).
    const wrongEnvironment = accountId && (await ctx.environmentRefusal(live, accountId));
    if (wrongEnvironment) return ctx.fail(request, reply, 403, wrongEnvironment);
    const clientId = String(interaction.params.client_id);
    const grant =
      (interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId });
    if (details.missingOIDCScope?.length) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims?.length) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    const returnTo = await provider.interactionResult(
      request.raw,
      reply.raw,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
    return reply.redirect(returnTo, 303);
  }

  async function page(request: FastifyRequest, reply: FastifyReply, live: Live) {
    const { interaction, uid, provider } = live;
    const client = await ctx.clientOf(provider, String(interaction.params.client_id));
    if (client.firstParty) return approve(request, reply, live);
    const missing = (interaction.prompt.details as PromptDetails).missingResourceScopes?.[audience] ?? [];
    const accountId = interaction.session?.accountId;
    const user = accountId ? await identity.getUser(accountId) : undefined;
    const body = consentPage({
      action: `/auth/interaction/${uid}/consent`,
      csrf: await ctx.csrfFor(uid),
      clientName: client.name,
      organizationName: client.organization,
      username: user?.username ?? '',
      scopes: missing.map((name) => ({ name, description: describeScope(name) })),
    });
    return ctx.send(reply, 200, 'Allow access?', body);
  }

  function register(scope: FastifyInstance): void {
    postForm(scope, '/auth/interaction/:uid/consent', consentForm, async (request, reply) => {
      const live = await ctx.live(request, reply);
      if (live?.interaction.prompt.name !== 'consent') return ctx.expired(request, reply);
      if (request.body.decision === 'approve') return approve(request, reply, live);
      const returnTo = await live.provider.interactionResult(
        request.raw,
        reply.raw,
        { error: 'access_denied', error_description: 'The user denied the request.' },
        { mergeWithLastSubmission: false },
      );
      return reply.redirect(returnTo, 303);
    });
  }

  return { page, register };
}
