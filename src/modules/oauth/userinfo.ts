import type { FastifyReply, FastifyRequest } from 'fastify';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type Provider from 'oidc-provider';
import type { Identity } from '../identity/index.ts';
import type { Grants } from './grants-service.ts';
import { type KeyMaterial, publicJwk } from './keys-service.ts';

const REALM = 'strongroom';
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * `/auth/userinfo` for our API access tokens. oidc-provider's own endpoint refuses every token that has an
 * audience, and every API token has one; so we answer it: a valid, unrevoked user token whose grant holds
 * the `openid` scope gets the claims the `openid` scope releases (the ID token's). Errors follow RFC 6750
 * §3 (401 `invalid_token`, 403 `insufficient_scope`); the token is read from the header only.
 */
export function createUserinfo(deps: {
  issuer: string;
  audience: string;
  keys: () => Promise<KeyMaterial>;
  provider: () => Promise<Provider>;
  grants: Grants;
  identity: Identity;
}) {
  const refuse = (reply: FastifyReply, status: 401 | 403, error?: string, description?: string) => {
    const challenge = [`Bearer realm="${REALM}"`];
    if (error) challenge.push(`error="${error}"`);
    if (status === 403) challenge.push('scope="openid"');
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .header('www-authenticate', challenge.join(', '))
      .send({
        error: error ?? 'invalid_token',
        error_description: description ?? 'no access token provided',
      });
  };

  async function verify(token: string): Promise<JWTPayload | undefined> {
    const material = await deps.keys();
    const jwks = createLocalJWKSet({ keys: material.signing.map(publicJwk) as never });
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: deps.issuer,
        audience: deps.audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
      });
      return payload;
    } catch {
      return undefined;
    }
  }

  return async function userinfo(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization;
    if (header === undefined) return refuse(reply, 401);
    const token = BEARER.exec(header)?.[1];
    const claims = token ? await verify(token) : undefined;
    const grantId = typeof claims?.grant_id === 'string' ? claims.grant_id : undefined;
    if (
      !claims ||
      !grantId ||
      claims.sub === claims.client_id ||
      deps.grants.isRevoked({ grantId, jti: String(claims.jti) })
    )
      return refuse(reply, 401, 'invalid_token', 'invalid token provided');
    const grant = await (await deps.provider()).Grant.find(grantId);
    if (!grant || !(grant.getOIDCScope() ?? '').split(' ').includes('openid'))
      return refuse(reply, 403, 'insufficient_scope', 'the grant does not include openid');
    const user = await deps.identity.getUser(String(claims.sub));
    if (!user || user.status === 'disabled')
      return refuse(reply, 401, 'invalid_token', 'invalid token provided');
    return reply
      .header('cache-control', 'no-store')
      .send({ sub: user.id, preferred_username: user.username, name: user.displayName ?? user.username });
  };
}
