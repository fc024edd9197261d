import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CookieJar, createCookieJar, jarFetch, parseForm } from '../helpers/oauth-flow.ts';
import { startServer, type TestServer, testDialects } from '../helpers/test-app.ts';

const GOOD_PASSWORD = 'a long and unusual passphrase 9';

/** Issue 13 item 5: the sign-up form keeps its input (never the password) and shows every error at once. */
for (const dialect of testDialects())
  describe(`${dialect}: developer sign-up form (/auth/register)`, () => {
    let t: TestServer;

    before(async () => {
      t = await startServer({ dialect });
      await t.app.services.identity.createUser({ username: 'takenname', password: GOOD_PASSWORD, roles: [] });
    });
    after(() => t?.close());

    const open = async () => {
      const jar = createCookieJar();
      const page = await (await jarFetch(jar, `${t.baseUrl}/auth/register`)).text();
      return { jar, ...parseForm(page) };
    };
    const post = (jar: CookieJar, action: string, values: Record<string, string>) =>
      jarFetch(jar, new URL(action, t.baseUrl).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(values).toString(),
      });
    const inputValue = (page: string, id: string) =>
      new RegExp(`<input id="${id}"[^>]*value="([^"]*)"`).exec(page)?.[1];

    it('lists every refused field at once (400) and keeps username and e-mail, never the password', async () => {
      const { jar, action, csrf } = await open();
      const password = 'short1';
      const response = await post(jar, action, { csrf, username: 'X', email: 'not-an-address', password });
      assert.equal(response.status, 400);
      assert.match(response.headers.get('content-type') ?? '', /text\/html/);
      const page = await response.text();
      assert.match(page, /The account was not created\. Please correct: Username, E-mail, Password\./);
      assert.match(page, /id="username-error">Usernames have 2–64 characters/);
      assert.match(page, /id="email-error">Enter a valid e-mail address\./);
      assert.match(page, /id="password-error">[^<]+</);
      assert.equal(inputValue(page, 'username'), 'X');
      assert.equal(inputValue(page, 'email'), 'not-an-address');
      assert.ok(!page.includes(password), 'the password is never echoed');
      assert.equal(inputValue(page, 'password'), undefined);
      assert.equal(await t.app.services.identity.getUser('x'), undefined);
    });

    it('reports a taken username together with the other errors', async () => {
      const { jar, action, csrf } = await open();
      const response = await post(jar, action, { csrf, username: 'takenname', email: 'a@b', password: 'x' });
      assert.equal(response.status, 400);
      const page = await response.text();
      assert.match(page, /id="username-error">This username is taken\./);
      assert.match(page, /id="email-error">/);
      assert.match(page, /id="password-error">/);
      assert.equal(inputValue(page, 'username'), 'takenname');
    });

    it('answers 409 with the input kept when only the username is taken', async () => {
      const { jar, action, csrf } = await open();
      const response = await post(jar, action, {
        csrf,
        username: 'TakenName',
        email: 'dev@example.com',
        password: GOOD_PASSWORD,
      });
      assert.equal(response.status, 409);
      const page = await response.text();
      assert.match(page, /id="username-error">This username is taken\./);
      assert.doesNotMatch(page, /id="(email|password)-error"/);
      assert.equal(inputValue(page, 'email'), 'dev@example.com');
      assert.ok(!page.includes(GOOD_PASSWORD));
    });

    it('lists missing fields on the form instead of a bare 400', async () => {
      const { jar, action, csrf } = await open();
      const response = await post(jar, action, { csrf });
      assert.equal(response.status, 400);
      const page = await response.text();
      assert.match(page, /<form method="post" action="\/auth\/register"/);
      assert.match(page, /id="username-error">/);
      assert.match(page, /id="password-error">/);
    });

    it('is not a dead end: the refused page submits again and creates the account', async () => {
      const { jar, action, csrf } = await open();
      const refused = await post(jar, action, { csrf, username: 'fixlater', email: 'bad', password: 'x' });
      assert.equal(refused.status, 400);
      const again = parseForm(await refused.text());
      const created = await post(jar, again.action, {
        csrf: again.csrf,
        username: 'fixlater',
        email: 'fix@example.com',
        password: GOOD_PASSWORD,
      });
      assert.equal(created.status, 303);
      assert.equal((await t.app.services.identity.getUser('fixlater'))?.email, 'fix@example.com');
    });
  });
