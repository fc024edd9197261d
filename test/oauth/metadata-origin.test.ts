import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestApp } from '../helpers/test-app.ts';

const METADATA_PATHS = [
  '/auth/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server/auth',
];

/** Every URL in the metadata, at any depth. */
function urls(value: unknown): string[] {
  if (typeof value === 'string') return /^[a-z]+:\/\//i.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(urls);
  if (value && typeof value === 'object') return Object.values(value).flatMap(urls);
  return [];
}

/**
 * Issue 10 item 9 (DESIGN.md §5.1): discovery metadata comes from `--public-url`, never from `Host` or
 * `X-Forwarded-Host` (not even from a trusted proxy), and it carries `Cache-Control`.
 */
for (const mode of ['TLS', 'behind a trusted proxy'] as const) {
  describe(`authorization server metadata (${mode})`, () => {
    const args =
      mode === 'TLS'
        ? ['--public-url', 'https://bank.example']
        : ['--public-url', 'https://bank.example', '--trust-proxy', '127.0.0.1'];

    for (const url of METADATA_PATHS) {
      test(`${url} ignores Host: evil.test and X-Forwarded-Host`, async () => {
        const t = await createTestApp({ args });
        try {
          const res = await t.app.http.inject({
            method: 'GET',
            url,
            headers: { host: 'evil.test', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'http' },
          });
          assert.equal(res.statusCode, 200);
          const metadata = res.json() as Record<string, unknown>;
          assert.equal(metadata.issuer, 'https://bank.example/auth');
          const found = urls(metadata);
          assert.ok(found.length > 5, 'the metadata lists its endpoints');
          for (const endpoint of found) assert.match(endpoint, /^https:\/\/bank\.example\//, endpoint);
          assert.doesNotMatch(res.body, /evil\.test/);
          assert.match(String(res.headers['cache-control']), /max-age=\d+/);
        } finally {
          await t.close();
        }
      });
    }
  });
}
