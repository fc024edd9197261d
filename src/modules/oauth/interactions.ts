import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { AppError } from '../../errors/index.ts';
import type { SharedState } from '../../store/index.ts';
import {
  consentPage,
  enrolPage,
  errorPage,
  layout,
  loginPage,
  mfaPage,
  recoveryCodesPage,
  registeredPage,
  registerPage,
} from '../../web/auth/pages.ts';
import type { SafeHtml } from '../../web/html.ts';
import type { Identity } from '../identity/index.ts';
import { describeScope } from '../identity/scopes.ts';

/** The CSP of our auth pages: the base policy without `form-action`, which would break the 303 chain. */
export const AUTH_CSP =
  "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'";

export interface InteractionDeps {
  provider: () => Promise<Provider>;
  identity: Identity;
  shared: SharedState;
  institutionName: string;
  baseUrl: string;
  audience: string;
  /** Secret for CSRF tokens (derived from the cookie key). */
  csrfKey: () => Promise<Buffer>;
  /** Interaction lifetime (ms), for pending MFA state. */
  interactionMs: () => number;
}

interface Pending {
  userId: string;
  mode: 'verify' | 'enroll' | 'codes';
  secret?: string;
  codes?: string[];
  failures: number;
}

const MAX_OTP_FAILURES = 5;
const UID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function form(request: FastifyRequest): URLSearchParams {
  const type = String(request.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-www-form-urlencoded'))
    throw new AppError('unsupportedMediaType', {
      detail: 'Send the form as application/x-www-form-urlencoded.',
    });
  return new URLSearchParams(typeof request.body === 'string' ? request.body : '');
}

function constantEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) out[part.slice(0, index).trim()] = part.slice(index + 1).trim();
  }
  return out;
}

/**
 * Sign-in, MFA, consent and developer registration pages under /auth. Every POST carries a CSRF token
 * bound to the interaction (or, for registration, to a `__Host-` cookie), refuses cross-site requests and
 * answers with 303.
 */
export function registerInteractionRoutes(app: FastifyInstance, deps: InteractionDeps): void {
  const { identity, shared } = deps;
  const origin = new URL(deps.baseUrl).origin;

  const csrfFor = async (purpose: string) =>
    createHmac('sha256', await deps.csrfKey())
      .update(purpose)
      .digest('base64url');

  const send = (reply: FastifyReply, status: number, title: string, body: SafeHtml) =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', AUTH_CSP)
      // Same-origin form posts then carry a real Origin; nothing leaks to the client's redirect URI.
      .header('referrer-policy', 'same-origin')
      .send(layout({ institutionName: deps.institutionName, title }, body));

  const fail = (reply: FastifyReply, status: number, message: string, request: FastifyRequest) =>
    send(
      reply,
      status,
      'Something went wrong',
      errorPage({ title: 'This request cannot be completed', message, requestId: request.id }),
    );

  /** Refuse cross-site form posts (A10): foreign Origin, Sec-Fetch-Site cross-site, wrong CSRF token. */
  const checkPost = async (request: FastifyRequest, params: URLSearchParams, purpose: string) => {
    const requestOrigin = request.headers.origin;
    const fetchSite = request.headers['sec-fetch-site'];
    if (fetchSite !== undefined && fetchSite !== 'same-origin') return false;
    // Browsers send `Origin: null` when the referrer policy withholds it; Sec-Fetch-Site then vouches.
    if (
      requestOrigin !== undefined &&
      requestOrigin !== origin &&
      !(requestOrigin === 'null' && fetchSite === 'same-origin')
    )
      return false;
    const presented = params.get('csrf') ?? '';
    return constantEqual(presented, await csrfFor(purpose));
  };

  const pendingKey = (uid: string) => `auth:pending:${uid}`;
  const readPending = async (uid: string): Promise<Pending | undefined> => {
    const value = await shared.get(pendingKey(uid));
    return value ? (JSON.parse(value) as Pending) : undefined;
  };
  const writePending = (uid: string, pending: Pending) =>
    shared.set(pendingKey(uid), JSON.stringify(pending), deps.interactionMs());

  async function details(request: FastifyRequest, reply: FastifyReply) {
    const provider = await deps.provider();
    const uid = (request.params as { uid: string }).uid;
    if (!UID_PATTERN.test(uid)) return undefined;
    try {
      const interaction = await provider.interactionDetails(request.raw, reply.raw);
      if (interaction.uid !== uid) return undefined;
      return { provider, interaction, uid };
    } catch (error) {
      if (error instanceof errors.SessionNotFound) return undefined;
      throw error;
    }
  }

  const expired = (request: FastifyRequest, reply: FastifyReply) =>
    fail(reply, 400, 'Your sign-in has expired or is not valid. Start again from the application.', request);

  /**
   * The common start of every interaction form post: the interaction must still be live and the post
   * must come from our own form (A10). Otherwise the answer is sent and the result is undefined.
   */
  async function verifiedPost(request: FastifyRequest, reply: FastifyReply) {
    const params = form(request);
    const ctx = await details(request, reply);
    if (!ctx) {
      await expired(request, reply);
      return undefined;
    }
    if (!(await checkPost(request, params, `interaction:${ctx.uid}`))) {
      await fail(
        reply,
        403,
        'The form could not be verified. Go back, reload the page and try again.',
        request,
      );
      return undefined;
    }
    return { params, ctx };
  }

  async function clientOf(provider: Provider, clientId: string) {
    const client = await provider.Client.find(clientId);
    const c = client as unknown as Record<string, unknown> | undefined;
    return {
      name: (client?.clientName as string | undefined) ?? clientId,
      firstParty: c?.['urn:strongroom:first_party'] === true,
      organization: (c?.['urn:strongroom:organization'] as string | null | undefined) ?? null,
    };
  }

  async function finishLogin(
    request: FastifyRequest,
    reply: FastifyReply,
    ctx: NonNullable<Awaited<ReturnType<typeof details>>>,
    userId: string,
    amr: string[],
  ) {
    await shared.delete(pendingKey(ctx.uid));
    const returnTo = await ctx.provider.interactionResult(
      request.raw,
      reply.raw,
      { login: { accountId: userId, amr, remember: false } },
      { mergeWithLastSubmission: false },
    );
    return reply.redirect(returnTo, 303);
  }

  async function approve(
    request: FastifyRequest,
    reply: FastifyReply,
    ctx: NonNullable<Awaited<ReturnType<typeof details>>>,
  ) {
    const { provider, interaction } = ctx;
    const promptDetails = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const accountId = interaction.session?.accountId;
    const clientId = String(interaction.params.client_id);
    const grant = interaction.grantId
      ? ((await provider.Grant.find(interaction.grantId)) ?? new provider.Grant({ accountId, clientId }))
      : new provider.Grant({ accountId, clientId });
    if (promptDetails.missingOIDCScope?.length) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
    if (promptDetails.missingOIDCClaims?.length) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {}))
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

  app.get('/auth/interaction/:uid', async (request, reply) => {
    const ctx = await details(request, reply);
    if (!ctx) return expired(request, reply);
    const { interaction, uid, provider } = ctx;
    const client = await clientOf(provider, String(interaction.params.client_id));
    const csrf = await csrfFor(`interaction:${uid}`);
    if (interaction.prompt.name === 'login') {
      const pending = await readPending(uid);
      if (pending?.mode === 'verify')
        return send(
          reply,
          200,
          'Two-step verification',
          mfaPage({ action: `/auth/interaction/${uid}/mfa`, csrf }),
        );
      if (pending?.mode === 'enroll' && pending.secret) {
        const user = await identity.getUser(pending.userId);
        const uri = identity
          .newTotpEnrolment(user?.username ?? 'user')
          .uri.replace(/secret=[^&]+/, `secret=${pending.secret}`);
        return send(
          reply,
          200,
          'Set up two-step verification',
          enrolPage({ action: `/auth/interaction/${uid}/enrol`, csrf, secret: pending.secret, uri }),
        );
      }
      if (pending?.mode === 'codes' && pending.codes)
        return send(
          reply,
          200,
          'Recovery codes',
          recoveryCodesPage({ action: `/auth/interaction/${uid}/continue`, csrf, codes: pending.codes }),
        );
      return send(
        reply,
        200,
        'Sign in',
        loginPage({
          action: `/auth/interaction/${uid}/login`,
          csrf,
          clientName: client.name,
          registerUrl: '/auth/register',
        }),
      );
    }
    if (interaction.prompt.name === 'consent') {
      if (client.firstParty) return approve(request, reply, ctx);
      const missing =
        (interaction.prompt.details as { missingResourceScopes?: Record<string, string[]> })
          .missingResourceScopes?.[deps.audience] ?? [];
      const user = interaction.session?.accountId
        ? await identity.getUser(interaction.session.accountId)
        : undefined;
      return send(
        reply,
        200,
        'Allow access?',
        consentPage({
          action: `/auth/interaction/${uid}/consent`,
          csrf,
          clientName: client.name,
          organizationName: client.organization,
          username: user?.username ?? '',
          scopes: missing.map((name) => ({ name, description: describeScope(name) })),
        }),
      );
    }
    return fail(reply, 400, 'This sign-in step is not supported.', request);
  });

  app.post('/auth/interaction/:uid/login', async (request, reply) => {
    const verified = await verifiedPost(request, reply);
    if (!verified) return reply;
    const { params, ctx } = verified;
    const { uid, interaction, provider } = ctx;
    if (interaction.prompt.name !== 'login') return expired(request, reply);
    const username = (params.get('username') ?? '').slice(0, 256);
    const password = (params.get('password') ?? '').slice(0, 1024);
    const result = await identity.authenticate({ username, password, address: request.ip });
    if (!result.ok) {
      const client = await clientOf(provider, String(interaction.params.client_id));
      const status = result.reason === 'invalid' ? 401 : 429;
      if (result.retryAfterSeconds) reply.header('retry-after', String(result.retryAfterSeconds));
      const message =
        result.reason === 'invalid'
          ? 'The username or password is not correct.'
          : 'Too many failed attempts. Wait 15 minutes and try again, or contact the institution.';
      request.logContext.refusal = `signin.${result.reason}`;
      return send(
        reply,
        status,
        'Sign in',
        loginPage({
          action: `/auth/interaction/${uid}/login`,
          csrf: await csrfFor(`interaction:${uid}`),
          clientName: client.name,
          username,
          error: message,
          registerUrl: '/auth/register',
        }),
      );
    }
    request.logContext.userId = result.user.id;
    if (result.mfa === 'none') return finishLogin(request, reply, ctx, result.user.id, ['pwd']);
    if (result.mfa === 'verify') {
      await writePending(uid, { userId: result.user.id, mode: 'verify', failures: 0 });
    } else {
      const { secret } = identity.newTotpEnrolment(result.user.username);
      await writePending(uid, { userId: result.user.id, mode: 'enroll', secret, failures: 0 });
    }
    return reply.redirect(`/auth/interaction/${uid}`, 303);
  });

  app.post('/auth/interaction/:uid/mfa', async (request, reply) => {
    const verified = await verifiedPost(request, reply);
    if (!verified) return reply;
    const { params, ctx } = verified;
    const { uid } = ctx;
    const pending = await readPending(uid);
    if (pending?.mode !== 'verify') return expired(request, reply);
    const ok = await identity.verifyOtp(pending.userId, (params.get('otp') ?? '').slice(0, 64));
    if (ok) return finishLogin(request, reply, ctx, pending.userId, ['pwd', 'otp']);
    pending.failures += 1;
    request.logContext.refusal = 'mfa.failed';
    if (pending.failures >= MAX_OTP_FAILURES) {
      await shared.delete(pendingKey(uid));
      return fail(reply, 429, 'Too many incorrect codes. Start again from the application.', request);
    }
    await writePending(uid, pending);
    return send(
      reply,
      401,
      'Two-step verification',
      mfaPage({
        action: `/auth/interaction/${uid}/mfa`,
        csrf: await csrfFor(`interaction:${uid}`),
        error: 'The code is not correct or was already used.',
      }),
    );
  });

  app.post('/auth/interaction/:uid/enrol', async (request, reply) => {
    const verified = await verifiedPost(request, reply);
    if (!verified) return reply;
    const { params, ctx } = verified;
    const { uid } = ctx;
    const pending = await readPending(uid);
    if (pending?.mode !== 'enroll' || !pending.secret) return expired(request, reply);
    const codes = await identity.confirmTotp(
      pending.userId,
      pending.secret,
      (params.get('otp') ?? '').slice(0, 16),
    );
    if (!codes) {
      pending.failures += 1;
      if (pending.failures >= MAX_OTP_FAILURES) {
        await shared.delete(pendingKey(uid));
        return fail(reply, 429, 'Too many incorrect codes. Start again from the application.', request);
      }
      await writePending(uid, pending);
      return reply.redirect(`/auth/interaction/${uid}`, 303);
    }
    await writePending(uid, { userId: pending.userId, mode: 'codes', codes, failures: 0 });
    return reply.redirect(`/auth/interaction/${uid}`, 303);
  });

  app.post('/auth/interaction/:uid/continue', async (request, reply) => {
    const verified = await verifiedPost(request, reply);
    if (!verified) return reply;
    const { ctx } = verified;
    const pending = await readPending(ctx.uid);
    if (pending?.mode !== 'codes') return expired(request, reply);
    return finishLogin(request, reply, ctx, pending.userId, ['pwd', 'otp']);
  });

  app.post('/auth/interaction/:uid/consent', async (request, reply) => {
    const verified = await verifiedPost(request, reply);
    if (!verified) return reply;
    const { params, ctx } = verified;
    const { interaction, provider } = ctx;
    if (interaction.prompt.name !== 'consent') return expired(request, reply);
    const decision = params.get('decision');
    if (decision === 'approve') return approve(request, reply, ctx);
    if (decision !== 'deny') return fail(reply, 400, 'Choose Allow or Deny.', request);
    const returnTo = await provider.interactionResult(
      request.raw,
      reply.raw,
      { error: 'access_denied', error_description: 'The user denied the request.' },
      { mergeWithLastSubmission: false },
    );
    return reply.redirect(returnTo, 303);
  });

  // ---- developer self-registration -----------------------------------------------------------------
  const CSRF_COOKIE = '__Host-sr_csrf';
  const registrationLimiter = shared.rateLimiter({
    keyPrefix: 'register-address',
    points: 100,
    duration: 3600,
  });

  const registrationForm = async (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    extra: Omit<Parameters<typeof registerPage>[0], 'action' | 'csrf'> = {},
  ) => {
    let nonce = parseCookies(request.headers.cookie)[CSRF_COOKIE];
    if (!nonce || !/^[A-Za-z0-9_-]{43}$/.test(nonce)) {
      nonce = randomBytes(32).toString('base64url');
      reply.header('set-cookie', `${CSRF_COOKIE}=${nonce}; Path=/; Secure; HttpOnly; SameSite=Strict`);
    }
    return send(
      reply,
      status,
      'Create a developer account',
      registerPage({ action: '/auth/register', csrf: await csrfFor(`register:${nonce}`), ...extra }),
    );
  };

  app.get('/auth/register', async (request, reply) => registrationForm(request, reply, 200));

  app.post('/auth/register', async (request, reply) => {
    const params = form(request);
    const nonce = parseCookies(request.headers.cookie)[CSRF_COOKIE] ?? '';
    if (!nonce || !(await checkPost(request, params, `register:${nonce}`)))
      return fail(
        reply,
        403,
        'The form could not be verified. Go back, reload the page and try again.',
        request,
      );
    const username = (params.get('username') ?? '').trim().slice(0, 64);
    const email = (params.get('email') ?? '').trim().slice(0, 254);
    const password = (params.get('password') ?? '').slice(0, 1024);
    try {
      await registrationLimiter.consume(request.ip);
    } catch {
      return fail(reply, 429, 'Too many registrations from your network. Try again later.', request);
    }
    if (email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
      return registrationForm(request, reply, 400, {
        username,
        email,
        fieldErrors: { email: 'Enter a valid e-mail address.' },
      });
    try {
      const user = await identity.createUser({
        username,
        password,
        roles: ['developer'],
        email: email || undefined,
      });
      return reply.redirect(`/auth/register/done?u=${encodeURIComponent(user.username)}`, 303);
    } catch (error) {
      if (error instanceof AppError && (error.status === 400 || error.status === 409)) {
        const field = error.errors?.[0]?.name ?? 'username';
        // A taken username is reported: registration cannot hide it (the username is the identifier).
        return registrationForm(request, reply, error.status, {
          username,
          email,
          fieldErrors: { [field]: error.detail ?? 'Invalid value.' },
        });
      }
      throw error;
    }
  });

  app.get('/auth/register/done', async (request, reply) => {
    const username = String((request.query as { u?: string }).u ?? '').slice(0, 64);
    return send(reply, 200, 'Account created', registeredPage({ username, continueUrl: '/portal/' }));
  });
}
