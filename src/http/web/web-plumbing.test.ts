import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createProblemCatalogue } from '../../errors/index.ts';
import { createManualClock } from '../../lib/clock.ts';
import { createSealer } from '../../lib/sealer.ts';
import { createMemoryState } from '../../store/index.ts';
import { createLogger } from '../logger.ts';
import { createHttpServer, type FastifyInstance } from '../server.ts';
import {
  createSessions,
  field,
  form,
  optional,
  postForm,
  registerWebPlumbing,
  type SessionStore,
  type StoredSession,
  sealedSessionStore,
  sendPage,
  withDefault,
} from './index.ts';

const ORIGIN = 'https://bank.example';
const DAY = 86_400_000;

/** A store that counts reads, so a test sees the session read once per request. */
function countingStore() {
  const rows = new Map<string, StoredSession<{ user: string }>>();
  let finds = 0;
  const store: SessionStore<{ user: string }> = {
    async find(idHash) {
      finds += 1;
      return rows.get(idHash);
    },
    async save(idHash, session) {
      rows.set(idHash, structuredClone(session));
    },
    async delete(idHash) {
      rows.delete(idHash);
    },
  };
  return { store, rows, finds: () => finds };
}

const cookieOf = (setCookie: string | string[] | undefined) =>
  String([setCookie].flat()[0] ?? '').split(';')[0] ?? '';

describe('web plumbing: cookies, sessions, the form rule, form schemas', () => {
  const clock = createManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const { store, rows, finds } = countingStore();
  const sessions = createSessions({
    cookieName: '__Host-test',
    store,
    clock,
    absoluteMs: DAY,
    idleMs: 3_600_000,
  });
  const seen: unknown[] = [];
  let app: FastifyInstance;

  before(async () => {
    app = await createHttpServer({
      baseUrl: ORIGIN,
      clock,
      logger: createLogger({ level: 'silent' }),
      tls: undefined,
      trustProxy: [],
    });
    app.register(async (scope) => {
      await registerWebPlumbing(scope, {
        origin: ORIGIN,
        problems: createProblemCatalogue(),
        expectedToken: async (request) => (await sessions.load(request))?.csrf,
        renderError: (_request, reply, error) =>
          sendPage(reply, error.status, `<h1>${error.title}</h1><p>${error.detail}</p>`),
      });
      scope.get('/page', async (request, reply) => {
        const session = await sessions.load(request);
        await sessions.load(request);
        return sendPage(reply, 200, `user=${session?.data.user ?? '-'} csrf=${session?.csrf ?? ''}`);
      });
      // Stands in for a sign-in callback (a GET, as the OAuth redirect is).
      scope.get('/sign-in', async (request, reply) => {
        await sessions.rotate(request, reply, { user: 'ada' });
        return reply.redirect('/page', 303);
      });
      postForm(scope, '/sign-out', form({}), async (request, reply) => {
        await sessions.destroy(request, reply);
        return reply.redirect('/page', 303);
      });
      const schema = form({
        name: field.text(10),
        kind: field.oneOf(['web', 'native'] as const),
        apis: withDefault(field.list(5, 20), []),
        overlap: withDefault(field.integer(0, 100), 7),
        note: optional(field.text(5)),
      });
      postForm(scope, '/things', schema, async (request, reply) => {
        seen.push({ ...request.body });
        return reply.redirect('/page', 303);
      });
    });
    await app.ready();
  });
  after(() => app.close());

  async function signIn(): Promise<{ cookie: string; csrf: string }> {
    const response = await app.inject({ method: 'GET', url: '/sign-in' });
    const cookie = cookieOf(response.headers['set-cookie']);
    const page = await app.inject({ method: 'GET', url: '/page', headers: { cookie } });
    return { cookie, csrf: /csrf=(\S+)/.exec(page.body)?.[1] ?? '' };
  }

  const postThings = (cookie: string, body: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/things',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: body,
    });

  test('issues a __Host- session cookie: 256 random bits, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain', async () => {
    const response = await app.inject({ method: 'GET', url: '/sign-in' });
    const [pair, ...attributes] = String([response.headers['set-cookie']].flat()[0]).split('; ');
    assert.match(pair ?? '', /^__Host-test=[A-Za-z0-9_-]{43}$/);
    for (const attribute of ['Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax', 'Max-Age=86400'])
      assert.ok(attributes.includes(attribute), attribute);
    assert.ok(!attributes.some((a) => /^Domain=/i.test(a)));
  });

  test('stores only the SHA-256 of the cookie value', async () => {
    const { cookie } = await signIn();
    const token = cookie.split('=')[1] ?? '';
    assert.ok(rows.has(createHash('sha256').update(token).digest('hex')));
    assert.ok(![...rows.keys()].includes(token));
  });

  test('reads the session once per request, however often it is asked for', async () => {
    const { cookie } = await signIn();
    const before = finds();
    const page = await app.inject({ method: 'GET', url: '/page', headers: { cookie } });
    assert.match(page.body, /user=ada/);
    assert.equal(finds() - before, 1);
  });

  test('rotate ends the previous session: the old cookie no longer signs in', async () => {
    const first = await signIn();
    const again = await app.inject({ method: 'GET', url: '/sign-in', headers: { cookie: first.cookie } });
    const second = cookieOf(again.headers['set-cookie']);
    assert.notEqual(second, first.cookie);
    const stale = await app.inject({ method: 'GET', url: '/page', headers: { cookie: first.cookie } });
    assert.match(stale.body, /user=-/);
  });

  test('destroy deletes the session and clears the cookie', async () => {
    const { cookie, csrf } = await signIn();
    const out = await app.inject({
      method: 'POST',
      url: '/sign-out',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `csrf=${csrf}`,
    });
    assert.equal(out.statusCode, 303);
    assert.match(String(out.headers['set-cookie']), /^__Host-test=; Max-Age=0;/);
    const page = await app.inject({ method: 'GET', url: '/page', headers: { cookie } });
    assert.match(page.body, /user=-/);
  });

  test('a session unused past its idle time, or past its absolute lifetime, is gone', async () => {
    const idle = await signIn();
    clock.advance(3_600_001);
    assert.match(
      (await app.inject({ method: 'GET', url: '/page', headers: { cookie: idle.cookie } })).body,
      /user=-/,
    );
    const absolute = await signIn();
    clock.advance(DAY);
    assert.match(
      (await app.inject({ method: 'GET', url: '/page', headers: { cookie: absolute.cookie } })).body,
      /user=-/,
    );
  });

  test('accepts a form with its session token from our origin, coercing values to the schema', async () => {
    const { cookie, csrf } = await signIn();
    seen.length = 0;
    const response = await postThings(cookie, `csrf=${csrf}&name=one&kind=web&apis=accounts`, {
      origin: ORIGIN,
      'sec-fetch-site': 'same-origin',
    });
    assert.equal(response.statusCode, 303, response.body);
    assert.deepEqual(seen, [{ csrf, name: 'one', kind: 'web', apis: ['accounts'], overlap: 7 }]);
    await postThings(cookie, `csrf=${csrf}&name=two&kind=native&apis=a&apis=b&overlap=42`);
    assert.deepEqual(seen[1], { csrf, name: 'two', kind: 'native', apis: ['a', 'b'], overlap: 42 });
  });

  test('refuses a post from another site with 403 even with the right token', async () => {
    const { cookie, csrf } = await signIn();
    seen.length = 0;
    for (const headers of [
      { origin: 'https://evil.test' },
      { origin: 'null' },
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
      { origin: ORIGIN, 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'none' },
    ]) {
      const response = await postThings(
        cookie,
        `csrf=${csrf}&name=x&kind=web`,
        headers as Record<string, string>,
      );
      assert.equal(response.statusCode, 403, JSON.stringify(headers));
      assert.match(response.body, /sent from another site/);
      assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    }
    assert.deepEqual(seen, []);
  });

  test("refuses a post without its session's token, or with another session's, with 403", async () => {
    const mine = await signIn();
    const other = await signIn();
    seen.length = 0;
    for (const body of ['name=x&kind=web', `csrf=${other.csrf}&name=x&kind=web`, 'csrf=&name=x&kind=web']) {
      const response = await postThings(mine.cookie, body);
      assert.equal(response.statusCode, 403, body);
      assert.match(response.body, /form has expired/);
    }
    const noSession = await postThings('', `csrf=${mine.csrf}&name=x&kind=web`);
    assert.equal(noSession.statusCode, 403);
    assert.deepEqual(seen, []);
  });

  test('checks the form rule before the schema: a cross-site post with a bad form is 403, not 400', async () => {
    const { cookie } = await signIn();
    const response = await postThings(cookie, 'kind=mainframe', { origin: 'https://evil.test' });
    assert.equal(response.statusCode, 403);
  });

  test('answers 400 listing every error of a form outside its schema, unknown fields included', async () => {
    const { cookie, csrf } = await signIn();
    seen.length = 0;
    const response = await postThings(cookie, `csrf=${csrf}&kind=mainframe&overlap=1000&extra=1`);
    assert.equal(response.statusCode, 400);
    for (const error of [
      /name: is required/,
      /kind: must be equal to one of the allowed values/,
      /overlap: must be <= 100/,
      /extra: is not a recognised field/,
    ])
      assert.match(response.body, error);
    assert.deepEqual(seen, []);
  });

  test('reads only urlencoded forms (415 otherwise) of at most 64 KiB (413)', async () => {
    const { cookie, csrf } = await signIn();
    const json = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { cookie, 'content-type': 'application/json' },
      payload: JSON.stringify({ csrf, name: 'x', kind: 'web' }),
    });
    assert.equal(json.statusCode, 415);
    assert.match(json.body, /application\/x-www-form-urlencoded/);
    const large = await postThings(cookie, `csrf=${csrf}&name=${'x'.repeat(70 * 1024)}&kind=web`);
    assert.equal(large.statusCode, 413);
  });

  test('pages are not cached and send Referrer-Policy: same-origin (so our forms post with our Origin)', async () => {
    const page = await app.inject({ method: 'GET', url: '/page' });
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.equal(page.headers['referrer-policy'], 'same-origin');
  });
});

describe('sealed session store', () => {
  test('keeps sessions sealed in the shared state under the hash, readable back', async () => {
    const clock = createManualClock(0);
    const state = createMemoryState(clock);
    const sealer = createSealer(Buffer.alloc(32, 7));
    const store = sealedSessionStore<{ token: string }>({ state, sealer, clock, prefix: 'demo:session' });
    const session = { csrf: 'c', createdAt: 0, expiresAt: 60_000, data: { token: 'bearer-secret' } };
    await store.save('abc', session);
    const raw = await state.get('demo:session:abc');
    assert.ok(raw && !raw.includes('bearer-secret'));
    assert.deepEqual(await store.find('abc'), session);
    await store.delete('abc');
    assert.equal(await store.find('abc'), undefined);
    await state.close();
  });
});
