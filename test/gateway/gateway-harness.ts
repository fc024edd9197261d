import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import type { Config } from '../../src/config/index.ts';
import { createHttpServer, type FastifyInstance } from '../../src/http/server.ts';
import { createManualClock } from '../../src/lib/clock.ts';
import type {
  ApiModule,
  KeyVerification,
  KeyVerifier,
  RatePlan,
  TokenAuthority,
  UsageEvent,
  VerifiedKey,
} from '../../src/modules/gateway/contract.ts';
import { createGateway, type GatewayOptions } from '../../src/modules/gateway/index.ts';
import type { ModuleContext } from '../../src/modules/module-context.ts';
import { createTestApp, type TestApp, type TestDialect } from '../helpers/test-app.ts';

export const BASE_URL = 'https://gw.test';
export const ISSUER = `${BASE_URL}/auth`;
export const AUDIENCE = `${BASE_URL}/`;

export const PLAN: RatePlan = { id: 'plan_t', name: 'test', perSecond: 1000, burst: 1000, perDay: 1_000_000 };

export function verifiedKey(overrides: Partial<VerifiedKey> = {}): VerifiedKey {
  return {
    keyId: 'key_a',
    applicationId: 'app_a',
    clientId: 'client_a',
    organizationId: 'org_a',
    plan: PLAN,
    corsOrigins: ['https://app-a.example'],
    apis: '*',
    abuseExempt: false,
    ...overrides,
  };
}

/**
 * A gateway on a real store (the test app's context), with the two ports owned by other modules played
 * by small in-test implementations: keys from a map, tokens signed here with a real ES256 key.
 */
export async function createGatewayHarness(options: {
  dialect: TestDialect;
  apis: ApiModule[];
  gatewayOptions?: GatewayOptions;
  config?: Partial<Config>;
  redis?: boolean;
}) {
  const t: TestApp = await createTestApp({ dialect: options.dialect, redis: options.redis });
  const clock = createManualClock(Date.now());
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'test-key-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const revoked = new Set<string>();
  const keyListeners = new Set<() => void>();
  let jwks = { keys: [publicJwk as Record<string, unknown>] };
  const tokens: TokenAuthority = {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: async () => jwks,
    onKeysChanged(listener) {
      keyListeners.add(listener);
      return () => keyListeners.delete(listener);
    },
    isRevoked: ({ grantId, jti }) => revoked.has(jti) || (grantId !== undefined && revoked.has(grantId)),
    longestAccessTokenSeconds: () => 3600,
  };
  const keys = new Map<string, KeyVerification>();
  const keyVerifier: KeyVerifier = {
    verify: (presented) => keys.get(presented) ?? { ok: false, reason: 'unknown' },
    isRegisteredOrigin: (origin) =>
      [...keys.values()].some((k) => k.ok && k.key.corsOrigins.includes(origin)),
  };
  const usage: UsageEvent[] = [];
  const context: ModuleContext = {
    ...t.app.context,
    clock,
    baseUrl: BASE_URL,
    config: { ...t.app.context.config, publicUrl: BASE_URL, ...options.config },
  };
  const http: FastifyInstance = await createHttpServer({
    baseUrl: BASE_URL,
    clock,
    logger: t.app.context.logger,
    problems: context.problems,
    tls: undefined,
    trustProxy: [],
  });
  const gateway = createGateway(
    context,
    {
      keys: keyVerifier,
      tokens,
      entitlements: t.app.services.entitlements,
      usage: { record: (event) => usage.push(event) },
    },
    options.gatewayOptions,
  );
  await gateway.register(http, options.apis);
  await http.ready();

  const sign = async (claims: JWTPayload = {}, header: Record<string, unknown> = {}) => {
    const now = Math.floor(clock.now() / 1000);
    const payload: JWTPayload = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'usr_alice',
      iat: now,
      exp: now + 300,
      jti: randomUUID(),
      client_id: 'client_a',
      scope: 'banking/read',
      grant_id: 'grant_1',
      ...claims,
    };
    return new SignJWT(JSON.parse(JSON.stringify(payload)) as JWTPayload)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...header })
      .sign(privateKey);
  };

  return {
    t,
    http,
    gateway,
    clock,
    keys,
    revoked,
    usage,
    privateKey,
    publicJwk,
    sign,
    rotateKeys(next: Record<string, unknown>[]) {
      jwks = { keys: next };
      for (const listener of keyListeners) listener();
    },
    async close() {
      await http.close();
      await gateway.stop();
      await t.close();
    },
  };
}

export type GatewayHarness = Awaited<ReturnType<typeof createGatewayHarness>>;

/** The API key of the harness's application `app_a` (client `client_a`, the tokens' client). */
export const BANK_KEY = 'key-a-plaintext';
/** The key of another application (`app_b`), for the token/key binding (DESIGN.md §1 row 6). */
export const OTHER_APP_KEY = 'key-b-plaintext';

/**
 * The harness over `bankApi()` with keys in every state of DESIGN.md §1 rows 2–3 (`revoked-key`,
 * `expired-key`, `pending-key`, `suspended-app-key`, `unsubscribed-key`), alice entitled to `acc1`
 * (view, transferFrom) and `acc2` (view), and a `banking/read` token of hers.
 */
export async function createBankHarness(dialect: TestDialect) {
  const h = await createGatewayHarness({ dialect, apis: [bankApi()] });
  h.keys.set(BANK_KEY, { ok: true, key: verifiedKey() });
  h.keys.set(OTHER_APP_KEY, {
    ok: true,
    key: verifiedKey({ keyId: 'key_b', applicationId: 'app_b', clientId: 'client_b' }),
  });
  h.keys.set('revoked-key', { ok: false, reason: 'revoked' });
  h.keys.set('expired-key', { ok: false, reason: 'expired' });
  h.keys.set('pending-key', { ok: false, reason: 'pending' });
  h.keys.set('suspended-app-key', { ok: false, reason: 'applicationSuspended' });
  h.keys.set('unsubscribed-key', { ok: true, key: verifiedKey({ keyId: 'key_u', apis: ['other'] }) });
  const entitlements = h.t.app.services.entitlements;
  await entitlements.grant({
    subject: 'usr_alice',
    resource: 'account',
    resourceId: 'acc1',
    permissions: ['view', 'transferFrom'],
    relationship: 'owner',
  });
  await entitlements.grant({
    subject: 'usr_alice',
    resource: 'account',
    resourceId: 'acc2',
    permissions: ['view'],
    relationship: 'coOwner',
  });
  return { h, token: await h.sign() };
}

/** Answers without their per-request parts (one implementation for every suite). */
export { normalized } from '../helpers/assertions.ts';

/** A small banking-like API exercising every feature of the pipeline. */
export function bankApi(): ApiModule {
  const security = (scopes: string[]) => [{ apiKey: [], accessToken: scopes }];
  const error = { description: 'problem' };
  const document = {
    openapi: '3.1.0',
    info: { title: 'Test bank', version: '1.2.3' },
    paths: {
      '/accounts': {
        get: {
          operationId: 'listAccounts',
          security: security(['banking/read']),
          'x-strongroom-entitlement': { resource: 'account', list: true, permission: 'view' },
          parameters: [{ $ref: '#/components/parameters/limit' }],
          responses: { '200': { description: 'ok' }, '400': error },
        },
      },
      '/accounts/{accountId}': {
        parameters: [{ name: 'accountId', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          operationId: 'getAccount',
          security: security(['banking/read']),
          'x-strongroom-entitlement': [
            { resource: 'account', in: 'path', name: 'accountId', permission: 'view' },
          ],
          responses: { '200': { description: 'ok' } },
        },
      },
      '/accounts/{accountId}/balance': {
        get: {
          operationId: 'getBalance',
          parameters: [{ name: 'accountId', in: 'path', required: true, schema: { type: 'string' } }],
          security: security(['banking/read', 'banking/readBalance']),
          'x-strongroom-entitlement': [
            { resource: 'account', in: 'path', name: 'accountId', permission: 'viewBalance' },
          ],
          responses: { '200': { description: 'ok' } },
        },
      },
      '/transfers': {
        post: {
          operationId: 'createTransfer',
          security: security(['banking/write']),
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: true,
              schema: { type: 'string', maxLength: 64 },
            },
          ],
          'x-strongroom-entitlement': [
            {
              resource: 'account',
              in: 'body',
              name: '/sourceAccount/id',
              permission: 'transferFrom',
              notVisible: { status: 422, type: 'invalidAccountId' },
              notPermitted: { status: 403, type: 'cannotTransferFrom' },
            },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/transfer' } } },
          },
          responses: { '201': { description: 'created' } },
        },
      },
      '/transfers/{transferId}': {
        get: {
          operationId: 'getTransfer',
          parameters: [{ name: 'transferId', in: 'path', required: true, schema: { type: 'string' } }],
          security: security(['banking/read']),
          'x-strongroom-entitlement': [
            {
              resource: 'account',
              in: 'path',
              name: 'transferId',
              resolver: 'transferSource',
              permission: 'view',
            },
          ],
          responses: { '200': { description: 'ok' } },
        },
      },
      '/products': {
        get: {
          operationId: 'listProducts',
          security: [{ apiKey: [] }],
          responses: { '200': { description: 'ok' } },
        },
      },
      '/either': {
        get: {
          operationId: 'either',
          security: [
            { apiKey: [], accessToken: ['profile/read'] },
            { apiKey: [], accessToken: ['data/read'] },
          ],
          responses: { '200': { description: 'ok' } },
        },
      },
      '/documents': {
        post: {
          operationId: 'upload',
          security: security(['profile/write']),
          'x-strongroom-maxBytes': 2048,
          requestBody: { required: true, content: { 'application/pdf': {} } },
          responses: { '201': { description: 'ok' } },
        },
      },
      '/open': {
        get: { operationId: 'open', security: [], responses: { '200': { description: 'ok' } } },
      },
    },
    components: {
      parameters: {
        limit: { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
      },
      schemas: {
        money: {
          type: 'object',
          additionalProperties: false,
          required: ['value', 'currency'],
          properties: { value: { type: 'string', pattern: '^\\d+\\.\\d{2}$' }, currency: { type: 'string' } },
        },
        ref: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: { type: 'string' } },
        },
        transfer: {
          type: 'object',
          additionalProperties: false,
          required: ['sourceAccount', 'targetAccount', 'amount'],
          properties: {
            id: { type: 'string', readOnly: true },
            sourceAccount: { $ref: '#/components/schemas/ref' },
            targetAccount: { $ref: '#/components/schemas/ref' },
            amount: { $ref: '#/components/schemas/money' },
          },
        },
      },
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'API-Key' },
        accessToken: {
          type: 'oauth2',
          flows: {
            authorizationCode: {
              authorizationUrl: 'https://example/authorize',
              tokenUrl: 'https://example/token',
              scopes: {
                'banking/read': 'read',
                'banking/readBalance': 'balances',
                'banking/write': 'write',
                'banking/full': 'all banking',
                'profile/read': 'profile',
                'profile/write': 'profile',
                'data/read': 'data',
              },
            },
          },
        },
      },
    },
  };
  const echo =
    (status = 200) =>
    async (call: Parameters<ApiModule['handlers'][string]>[0]) => ({
      status,
      body: {
        operationId: call.operationId,
        params: call.params,
        query: call.query,
        subject: call.principal?.subject ?? null,
        scopes: call.principal ? [...call.principal.scopes].sort() : [],
        keyId: call.key?.keyId ?? null,
        headers: {
          apiKey: call.headers['api-key'] ?? null,
          authorization: call.headers.authorization ?? null,
        },
        body: Buffer.isBuffer(call.body) ? { bytes: call.body.length } : (call.body ?? null),
      },
    });
  return {
    name: 'bank',
    document: document as unknown as ApiModule['document'],
    handlers: {
      listAccounts: async (call) => {
        const ids = await call.entitlements.ids('account', 'view');
        return { status: 200, body: { items: ids === '*' ? ['*'] : [...ids].sort() } };
      },
      getAccount: echo(),
      getBalance: echo(),
      createTransfer: echo(201),
      getTransfer: echo(),
      listProducts: echo(),
      either: echo(),
      upload: echo(201),
      open: echo(),
    },
    resolvers: { transferSource: async (id) => (id === 'tr1' ? 'acc1' : undefined) },
  };
}
