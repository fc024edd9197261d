import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { isoAt } from '../../lib/clock.ts';
import { randomBase62 } from '../../lib/ids.ts';
import type { ModuleContext } from '../module-context.ts';
import { clientsRepository } from './clients-repository.ts';
import { MAX_ACCESS_TOKEN_SECONDS, TOPICS } from './grants-service.ts';
import { type KeyRow, keysRepository as repository } from './keys-repository.ts';

export interface SigningKeyInfo {
  kid: string;
  alg: string;
  createdAt: string;
  /** When it was replaced; it stays published until `unpublishAt`. */
  retiredAt: string | null;
  unpublishAt: string | null;
  state: 'active' | 'published';
}

export interface KeyMaterial {
  /** Private JWKs, the active signing key first. */
  signing: Record<string, unknown>[];
  /** Cookie signing keys, newest first (older ones still verify). */
  cookies: string[];
}

/** The signing keys every deployment has, one active key each. */
const SIGNING_ALGS = ['ES256', 'RS256'] as const;
type SigningAlg = (typeof SIGNING_ALGS)[number];
const generateKeyPairAsync = promisify(generateKeyPair);

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'];

export function publicJwk(jwk: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(jwk).filter(([k]) => PUBLIC_MEMBERS.includes(k)));
}

/**
 * Signing keys (ES256 for access tokens and ID tokens; RS256 for the ID tokens of clients that ask) and cookie keys, sealed with the KEK in the store so that every instance uses the
 * same ones. Rotation adds a new active key; the previous one stays published until every token it signed
 * has expired. Running servers rebuild their provider on the `signingKeys` change.
 */
export function createKeys(context: ModuleContext) {
  const { db, clock, sealer, changes, audit } = context;
  const nowSeconds = () => Math.floor(clock.now() / 1000);

  /** A new signing key: ES256 signs access tokens (and ID tokens by default), RS256 ID tokens on request. */
  const newSigningRow = async (alg: SigningAlg): Promise<KeyRow> => {
    const kid = randomBase62(16);
    // Generated off the event loop: an RSA key takes tens of milliseconds.
    const { privateKey } =
      alg === 'ES256'
        ? await generateKeyPairAsync('ec', { namedCurve: 'P-256' })
        : await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
    return {
      kid,
      use: 'sig',
      alg,
      sealed_key: sealer.seal(JSON.stringify(jwk), `oauth-key:${kid}`),
      created_at: isoAt(clock.now()),
      retired_at: null,
      unpublish_at: null,
    };
  };

  const newCookieRow = (): KeyRow => {
    const kid = `cookie-${randomBase62(12)}`;
    return {
      kid,
      use: 'cookie',
      alg: 'HS256',
      sealed_key: sealer.seal(randomBytes(32).toString('base64url'), `oauth-key:${kid}`),
      created_at: isoAt(clock.now()),
      retired_at: null,
      unpublish_at: null,
    };
  };

  const liveRows = () => repository.listPublished(db, nowSeconds());

  /** Longest access-token lifetime configured anywhere: a retired key is published at least that long. */
  async function longestTokenLifetime(): Promise<number> {
    const setting = await context.settings.get<{ accessToken?: number } | null>('oauth.lifetimes', null);
    let longest = setting?.accessToken ?? 300;
    for (const json of await clientsRepository.listLifetimes(db)) {
      const value = (JSON.parse(json) as { accessToken?: number }).accessToken;
      if (value && value > longest) longest = value;
    }
    return Math.min(Math.max(longest, 300), MAX_ACCESS_TOKEN_SECONDS);
  }

  return {
    /** Create the first keys if the store has none (idempotent; safe with concurrent starts). */
    async ensure(): Promise<void> {
      const rows = await liveRows();
      // Per algorithm, so a store made before RS256 existed gets its RSA key at the next start.
      for (const alg of SIGNING_ALGS)
        if (!rows.some((r) => r.use === 'sig' && r.alg === alg))
          await repository.insert(db, [await newSigningRow(alg)]);
      if (!rows.some((r) => r.use === 'cookie')) await repository.insert(db, [newCookieRow()]);
    },

    async material(): Promise<KeyMaterial> {
      const rows = await liveRows();
      // The active (unretired) key first: oidc-provider signs with the first matching key. Should two
      // processes starting on an empty store both create one, every process picks the oldest.
      const ordered = [...rows].sort(
        (a, b) =>
          Number(a.retired_at !== null) - Number(b.retired_at !== null) ||
          (a.retired_at === null
            ? a.created_at.localeCompare(b.created_at) || a.kid.localeCompare(b.kid)
            : 0),
      );
      const signing: Record<string, unknown>[] = [];
      const cookies: string[] = [];
      for (const row of ordered) {
        const value = sealer.open(row.sealed_key, `oauth-key:${row.kid}`);
        if (row.use === 'sig') signing.push(JSON.parse(value) as Record<string, unknown>);
        else if (row.use === 'cookie') cookies.push(value);
      }
      return { signing, cookies };
    },

    async list(): Promise<SigningKeyInfo[]> {
      const rows = await liveRows();
      return rows
        .filter((r) => r.use === 'sig')
        .map((r) => ({
          kid: r.kid,
          alg: r.alg,
          createdAt: r.created_at,
          retiredAt: r.retired_at,
          unpublishAt: r.unpublish_at === null ? null : isoAt(Number(r.unpublish_at) * 1000),
          state: r.retired_at === null ? 'active' : 'published',
        }));
    },

    /** Add a new active signing key (and cookie key); the old ones stay published for `keepSeconds`. */
    async rotate(options: { keepSeconds?: number } = {}): Promise<{ kid: string; previous: string[] }> {
      const keep = options.keepSeconds ?? (await longestTokenLifetime()) + 60;
      const signing = await newSigningRow('ES256');
      const rsa = await newSigningRow('RS256');
      const cookie = newCookieRow();
      const previous: string[] = [];
      await db.transaction().execute(async (trx) => {
        for (const row of await repository.listActive(trx)) {
          if (row.use === 'sig') previous.push(row.kid);
          // Cookie keys keep verifying for a session's lifetime; signing keys for the tokens' lifetime.
          const unpublish = nowSeconds() + (row.use === 'sig' ? keep : 12 * 3600);
          await repository.retire(trx, row.kid, isoAt(clock.now()), unpublish);
        }
        await repository.insert(trx, [signing, rsa, cookie]);
        await audit.record(
          {
            actor: { type: 'system' },
            action: 'signingKey.rotated',
            target: { type: 'signingKey', id: signing.kid },
            after: { previous },
          },
          trx,
        );
        await changes.publish(TOPICS.signingKeys, signing.kid, trx);
      });
      return { kid: signing.kid, previous };
    },
  };
}

export type Keys = ReturnType<typeof createKeys>;
