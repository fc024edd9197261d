import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../errors/index.ts';
import { boundToken, field, form, postForm, withDefault } from '../../../http/web/index.ts';
import { safeEqualHex } from '../../../lib/hash.ts';
import { registeredPage, registerPage } from '../../../web/auth/pages.ts';
import { newUserProblems } from '../../identity/index.ts';
import type { InteractionContext } from './interaction-context.ts';

/** The nonce that registration's form token is bound to (there is no session or interaction yet). */
const NONCE_COOKIE = '__Host-sr_csrf';
const NONCE = /^[A-Za-z0-9_-]{43}$/;
const NONCE_COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'strict' } as const;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const TAKEN = 'This username is taken.';
const FIELD_LABELS: [string, string][] = [
  ['username', 'Username'],
  ['email', 'E-mail'],
  ['password', 'Password'],
];

/** The box above the form: how many fields to correct (each says why beside it). */
const summary = (fieldErrors: Record<string, string>) => {
  const fields = FIELD_LABELS.filter(([name]) => fieldErrors[name]).map(([, label]) => label);
  return `The account was not created. Please correct: ${fields.join(', ')}.`;
};

// Bounded here; the identity service judges the values and the page shows its answer next to the field.
// A field left out counts as empty, so the page lists it with the others instead of a bare 400.
const registrationForm = form({
  username: withDefault(field.text(256), ''),
  email: withDefault(field.text(254), ''),
  password: withDefault(field.text(1024), ''),
});

/** The nonce cookie of a request, if well-formed. */
const nonceOf = (request: FastifyRequest) => {
  const nonce = request.cookies[NONCE_COOKIE];
  return nonce && NONCE.test(nonce) ? nonce : undefined;
};

/** The form token a registration post must carry: bound to the browser's nonce cookie. */
export async function registrationToken(
  ctx: InteractionContext,
  request: FastifyRequest,
): Promise<string | undefined> {
  const nonce = nonceOf(request);
  return nonce && boundToken(await ctx.deps.csrfKey(), `register:${nonce}`);
}

/**
 * Developer self-registration at /auth/register: at most 100 attempts and 5 accounts created per address
 * an hour (then 429 + Retry-After).
 */
export function registerRegistration(scope: FastifyInstance, ctx: InteractionContext): void {
  const { identity, shared } = ctx.deps;
  const limiter = shared.rateLimiter({ keyPrefix: 'register-address', points: 100, duration: 3600 });

  async function page(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    extra: Omit<Parameters<typeof registerPage>[0], 'action' | 'csrf'> = {},
  ) {
    let nonce = nonceOf(request);
    if (!nonce) {
      nonce = randomBytes(32).toString('base64url');
      reply.setCookie(NONCE_COOKIE, nonce, NONCE_COOKIE_OPTIONS);
    }
    const csrf = boundToken(await ctx.deps.csrfKey(), `register:${nonce}`);
    return ctx.send(
      reply,
      status,
      'Create a developer account',
      registerPage({ action: '/auth/register', csrf, ...extra }),
    );
  }

  scope.get('/auth/register', (request, reply) => page(request, reply, 200));

  postForm(scope, '/auth/register', registrationForm, async (request, reply) => {
    const username = request.body.username.trim();
    const email = request.body.email.trim();
    try {
      await limiter.consume(request.ip);
    } catch (rejection) {
      const ms = (rejection as { msBeforeNext?: number }).msBeforeNext ?? 60_000;
      reply.header('retry-after', String(Math.max(1, Math.ceil(ms / 1000))));
      return ctx.fail(request, reply, 429, 'Too many registrations from your network. Try again later.');
    }
    const fieldErrors = await refusals(username, email, request.body.password);
    if (Object.keys(fieldErrors).length > 0) {
      // Only a taken name is a conflict (409); anything else is the form's own fault (400).
      const taken = Object.keys(fieldErrors).length === 1 && fieldErrors.username === TAKEN;
      return page(request, reply, taken ? 409 : 400, {
        username,
        email,
        fieldErrors,
        error: summary(fieldErrors),
      });
    }
    const reserved = await identity.registrations.reserve(request.ip);
    if (!reserved.ok) {
      reply.header('retry-after', String(reserved.retryAfterSeconds));
      return ctx.fail(request, reply, 429, 'Too many accounts created from your network. Try again later.');
    }
    try {
      const user = await identity.createUser({
        username,
        password: request.body.password,
        roles: ['developer'],
        email: email || undefined,
      });
      const signature = await doneSignature(request, user.username);
      return reply.redirect(
        `/auth/register/done?u=${encodeURIComponent(user.username)}&s=${signature ?? ''}`,
        303,
      );
    } catch (error) {
      await identity.registrations.release(request.ip);
      if (!(error instanceof AppError) || (error.status !== 400 && error.status !== 409)) throw error;
      // A taken username is reported: registration cannot hide it (the username is the identifier).
      const field = error.errors?.[0]?.name ?? 'username';
      const fieldErrors = { [field]: error.detail ?? 'Invalid value.' };
      return page(request, reply, error.status, {
        username,
        email,
        fieldErrors,
        error: summary(fieldErrors),
      });
    }
  });

  /** Every refusal of the form at once, by field: e-mail, username (rules, then taken), password. */
  async function refusals(
    username: string,
    email: string,
    password: string,
  ): Promise<Record<string, string>> {
    const fieldErrors: Record<string, string> = {};
    for (const problem of newUserProblems(username, password)) fieldErrors[problem.name] = problem.message;
    if (email && !EMAIL.test(email)) fieldErrors.email = 'Enter a valid e-mail address.';
    if (!fieldErrors.username && (await identity.getUser(username.toLowerCase())))
      fieldErrors.username = TAKEN;
    return fieldErrors;
  }

  // The page greets the new user by name only when the name is signed for this browser: a link with
  // `?u=<any name>` must not make the institution's page greet whoever the link names.
  scope.get('/auth/register/done', async (request, reply) => {
    const query = request.query as { u?: unknown; s?: unknown };
    const username = typeof query.u === 'string' ? query.u.slice(0, 64) : '';
    const expected = username ? await doneSignature(request, username) : undefined;
    const signed = expected !== undefined && typeof query.s === 'string' && safeEqualHex(query.s, expected);
    return ctx.send(
      reply,
      200,
      'Account created',
      registeredPage({ username: signed ? username : undefined, continueUrl: '/portal/' }),
    );
  });

  async function doneSignature(request: FastifyRequest, username: string): Promise<string | undefined> {
    const nonce = nonceOf(request);
    return nonce && boundToken(await ctx.deps.csrfKey(), `registered:${nonce}:${username}`);
  }
}
