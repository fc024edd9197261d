import type { FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { ProblemCatalogue } from '../../../errors/index.ts';
import { boundToken, sendPage } from '../../../http/web/index.ts';
import type { Sealer } from '../../../lib/sealer.ts';
import type { SharedState } from '../../../store/index.ts';
import { errorPage, layout } from '../../../web/auth/pages.ts';
import type { SafeHtml } from '../../../web/html.ts';
import type { Identity } from '../../identity/index.ts';

/** The CSP of our auth pages: the base policy without `form-action`, which would break the 303 chain. */
export const AUTH_CSP =
  "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'";

export interface InteractionDeps {
  provider: () => Promise<Provider>;
  identity: Identity;
  shared: SharedState;
  /** Seals the second-factor state kept between steps (an enrolment's TOTP secret, recovery codes). */
  sealer: Sealer;
  /** The app's problem catalogue (error pages). */
  problems: ProblemCatalogue;
  institutionName: string;
  baseUrl: string;
  audience: string;
  /** Secret for form tokens (derived from the cookie key). */
  csrfKey: () => Promise<Buffer>;
  /** Interaction lifetime (ms), for pending MFA state. */
  interactionMs: () => number;
  /** The environment of a client's application (DESIGN.md §5.4); clients of no application are `production`. */
  clientEnvironment: (clientId: string) => Promise<'production' | 'sandbox'>;
}

/** Shown when a user signs in through an application of the other environment (DESIGN.md §5.4). */
export const WRONG_ENVIRONMENT =
  'This account cannot sign in to this application: sandbox test customers sign in only through sandbox applications, and customers only through production applications.';

/** Second-factor state of an interaction between its password step and its end. */
export interface Pending {
  userId: string;
  mode: 'verify' | 'enroll' | 'codes';
  secret?: string;
  codes?: string[];
  failures: number;
}

const UID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A live interaction of oidc-provider, for the step that handles it. */
export interface Live {
  provider: Provider;
  interaction: Awaited<ReturnType<Provider['interactionDetails']>>;
  uid: string;
}

/** What every step of the sign-in interaction shares: pages, the live interaction, pending state, ending. */
export function createInteractionContext(deps: InteractionDeps) {
  const { shared, sealer } = deps;

  const send = (reply: FastifyReply, status: number, title: string, body: SafeHtml) =>
    sendPage(reply, status, layout({ institutionName: deps.institutionName, title }, body), {
      csp: AUTH_CSP,
    });

  const fail = (request: FastifyRequest, reply: FastifyReply, status: number, message: string) =>
    send(
      reply,
      status,
      'Something went wrong',
      errorPage({ title: 'This request cannot be completed', message, requestId: request.id }),
    );

  const pendingKey = (uid: string) => `auth:pending:${uid}`;
  /** The form token of an interaction's pages: bound to the interaction, no state kept. */
  const csrfFor = async (uid: string) => boundToken(await deps.csrfKey(), `interaction:${uid}`);

  return {
    deps,
    send,
    fail,
    expired: (request: FastifyRequest, reply: FastifyReply) =>
      fail(
        request,
        reply,
        400,
        'Your sign-in has expired or is not valid. Start again from the application.',
      ),

    csrfFor,

    /** The form token a post to this interaction must carry (undefined for a malformed id). */
    async expectedToken(request: FastifyRequest): Promise<string | undefined> {
      const uid = (request.params as { uid?: string }).uid;
      return uid && UID_PATTERN.test(uid) ? csrfFor(uid) : undefined;
    },

    /** The interaction of the path, if it is still live in this browser; otherwise undefined. */
    async live(request: FastifyRequest, reply: FastifyReply): Promise<Live | undefined> {
      const provider = await deps.provider();
      const uid = (request.params as { uid: string }).uid;
      if (!UID_PATTERN.test(uid)) return undefined;
      try {
        const interaction = await provider.interactionDetails(request.raw, reply.raw);
        return interaction.uid === uid ? { provider, interaction, uid } : undefined;
      } catch (error) {
        if (error instanceof errors.SessionNotFound) return undefined;
        throw error;
      }
    },

    /** The refusal message when the user and the interaction's client live in different environments. */
    async environmentRefusal(live: Live, userId: string): Promise<string | undefined> {
      const [user, client] = await Promise.all([
        deps.identity.environmentOf(userId),
        deps.clientEnvironment(String(live.interaction.params.client_id)),
      ]);
      return user === client ? undefined : WRONG_ENVIRONMENT;
    },

    async clientOf(provider: Provider, clientId: string) {
      const client = await provider.Client.find(clientId);
      const metadata = client as unknown as Record<string, unknown> | undefined;
      return {
        name: (client?.clientName as string | undefined) ?? clientId,
        firstParty: metadata?.['urn:strongroom:first_party'] === true,
        organization: (metadata?.['urn:strongroom:organization'] as string | null | undefined) ?? null,
      };
    },

    pending: {
      async read(uid: string): Promise<Pending | undefined> {
        const sealed = await shared.get(pendingKey(uid));
        return sealed ? (JSON.parse(sealer.open(sealed, pendingKey(uid))) as Pending) : undefined;
      },
      write: (uid: string, pending: Pending) =>
        shared.set(
          pendingKey(uid),
          sealer.seal(JSON.stringify(pending), pendingKey(uid)),
          deps.interactionMs(),
        ),
      delete: (uid: string) => shared.delete(pendingKey(uid)),
    },

    /** The user is signed in: end the login prompt and go back to the provider (303). */
    async finishLogin(
      request: FastifyRequest,
      reply: FastifyReply,
      live: Live,
      userId: string,
      amr: string[],
    ) {
      await shared.delete(pendingKey(live.uid));
      const returnTo = await live.provider.interactionResult(
        request.raw,
        reply.raw,
        { login: { accountId: userId, amr, remember: false } },
        { mergeWithLastSubmission: false },
      );
      return reply.redirect(returnTo, 303);
    },
  };
}

export type InteractionContext = ReturnType<typeof createInteractionContext>;
