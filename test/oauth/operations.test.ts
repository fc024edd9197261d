import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { readDemoFile } from '../../src/demo/demo-file.ts';
import { authorizationCodeFlow, clientCredentials, decodeJwt } from '../helpers/oauth-flow.ts';
import { startDemoServer, TEST_KEK, type TestApp, testDialects } from '../helpers/test-app.ts';
import { timeUntil } from '../helpers/wait.ts';

const REDIRECT = 'https://client.example/cb';

/** Poll until `check` is true; fails if `ms` pass first. Returns how long it took. */
const within = (ms: number, check: () => boolean | Promise<boolean>) => timeUntil(check, { timeoutMs: ms });

for (const dialect of testDialects()) {
  describe(`institution operations reach a running server (${dialect})`, () => {
    let t: TestApp;
    let baseUrl: string;
    let c: { clientId: string; clientSecret: string };

    /** Run a `strongroom` command beside the running server, as an operator would. */
    async function cli(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
      let out = '';
      let err = '';
      const sink = (append: (s: string) => void) =>
        new Writable({
          write(chunk, _e, cb) {
            append(String(chunk));
            cb();
          },
        });
      const code = await main(
        [
          ...args,
          '--data-dir',
          t.dataDir,
          ...(t.config.databaseUrl ? ['--database-url', t.config.databaseUrl] : []),
          '--json',
        ],
        {
          stdout: sink((s) => {
            out += s;
          }),
          stderr: sink((s) => {
            err += s;
          }),
          stdin: Readable.from([stdin]),
          // On PostgreSQL the key-encryption key must come from the environment.
          env: t.config.databaseUrl ? { STRONGROOM_KEK: TEST_KEK } : {},
          cwd: process.cwd(),
        },
      );
      return { code, out, err };
    }

    before(async () => {
      t = await startDemoServer({ dialect });
      baseUrl = t.config.publicUrl;
      c = (await t.app.services.oauth.clients.register({
        name: 'Ops client',
        kind: 'confidential',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        allowedScopes: ['banking/read', 'profile/read'],
        firstParty: true,
      })) as typeof c;
    });
    after(async () => {
      await t?.close();
    });

    it('`lifetimes set` applies to the next token within a second', async () => {
      const result = await cli(['lifetimes', 'set', '--access-token', '200']);
      assert.equal(result.code, 0, result.err);
      assert.equal(JSON.parse(result.out).accessToken, 200);
      try {
        await within(
          1000,
          async () => (await clientCredentials({ baseUrl, ...c, scope: 'banking/read' })).expires_in === 200,
        );
      } finally {
        await cli(['lifetimes', 'set', '--access-token', '300']);
      }
    });

    it('`users disable` revokes the user’s tokens on the running server within a second', async () => {
      const { code } = await cli(
        ['users', 'add', '--username', 'opsuser', '--roles', 'customer', '--password-stdin'],
        'a very long passphrase',
      );
      assert.equal(code, 0);
      const tokens = await authorizationCodeFlow({
        baseUrl,
        ...c,
        redirectUri: REDIRECT,
        username: 'opsuser',
        password: 'a very long passphrase',
        scope: 'banking/read',
      });
      const { payload } = decodeJwt(tokens.access_token);
      const token = { grantId: payload.grant_id as string, jti: payload.jti as string };
      assert.equal(t.app.services.oauth.authority.isRevoked(token), false);
      assert.equal((await cli(['users', 'disable', 'opsuser'])).code, 0);
      await within(1000, () => t.app.services.oauth.authority.isRevoked(token));
    });

    it('`grants list` and `grants revoke --grant` end one grant', async () => {
      const demo = await readDemoFile(t.dataDir);
      const bob = demo?.users.find((u) => u.username === 'bob');
      assert.ok(bob);
      const tokens = await authorizationCodeFlow({
        baseUrl,
        ...c,
        redirectUri: REDIRECT,
        username: 'bob',
        password: bob.password,
        scope: 'banking/read',
      });
      const { payload } = decodeJwt(tokens.access_token);
      const listed = JSON.parse((await cli(['grants', 'list', '--user', 'bob'])).out) as {
        grantId: string;
        clientId: string;
        scope: string;
      }[];
      const grant = listed.find((g) => g.grantId === payload.grant_id);
      assert.equal(grant?.clientId, c.clientId);
      assert.match(grant?.scope ?? '', /banking\/read/);
      assert.equal((await cli(['grants', 'revoke', '--grant', payload.grant_id as string])).code, 0);
      await within(1000, () =>
        t.app.services.oauth.authority.isRevoked({
          grantId: payload.grant_id as string,
          jti: payload.jti as string,
        }),
      );
    });

    it('`signing-keys rotate` switches the running server to a new key and keeps the old one published', async () => {
      const before = await clientCredentials({ baseUrl, ...c, scope: 'banking/read' });
      const oldKid = decodeJwt(before.access_token).header.kid;
      let changed = 0;
      const off = t.app.services.oauth.authority.onKeysChanged(() => {
        changed += 1;
      });
      const result = await cli(['signing-keys', 'rotate']);
      assert.equal(result.code, 0, result.err);
      const { kid } = JSON.parse(result.out) as { kid: string };
      await within(1000, () => changed > 0);
      off();
      const after = await clientCredentials({ baseUrl, ...c, scope: 'banking/read' });
      assert.equal(decodeJwt(after.access_token).header.kid, kid);
      const jwks = (await (await fetch(`${baseUrl}/auth/jwks`)).json()) as {
        keys: { kid: string; d?: string }[];
      };
      const kids = jwks.keys.map((k) => k.kid);
      assert.ok(kids.includes(kid) && kids.includes(oldKid as string));
      assert.ok(jwks.keys.every((k) => k.d === undefined));
      const stored = await t.app.context.db.selectFrom('oauth_keys').select('sealed_key').execute();
      assert.ok(stored.every((row) => row.sealed_key.startsWith('v1.')));
    });

    it('`clients register` prints the secret once and stores only its hash', async () => {
      const result = await cli([
        'clients',
        'register',
        '--name',
        'CLI app',
        '--kind',
        'confidential',
        '--redirect-uri',
        REDIRECT,
        '--scopes',
        'banking/read',
      ]);
      assert.equal(result.code, 0, result.err);
      const { clientId, clientSecret } = JSON.parse(result.out) as { clientId: string; clientSecret: string };
      const row = await t.app.context.db
        .selectFrom('oauth_clients')
        .selectAll()
        .where('client_id', '=', clientId)
        .executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(clientSecret));
      // Registered for the code flow only by default: client credentials are refused (after authentication).
      const refused = await clientCredentials({
        baseUrl,
        clientId,
        clientSecret,
        scope: 'banking/read',
      }).catch((e) => e);
      assert.ok(['unauthorized_client', 'invalid_request'].includes(refused.error), refused.error);
      const wrong = await clientCredentials({
        baseUrl,
        clientId,
        clientSecret: 'nope',
        scope: 'banking/read',
      }).catch((e) => e);
      assert.equal(wrong.error, 'invalid_client');
    });
  });
}
