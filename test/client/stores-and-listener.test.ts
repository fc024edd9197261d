import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  memoryTokenStore,
  refreshDue,
  type StorageLike,
  type StoredSession,
  type StoredTokens,
  sessionStorageTokenStore,
} from '@strongroom/client';
import { fileTokenStore, profilesFile } from '@strongroom/client/node';
import { listenOnLoopback } from '../../packages/client/src/loopback.ts';
import { waitFor } from '../helpers/wait.ts';

const SESSION: StoredSession = {
  tokens: {
    accessToken: 'at',
    tokenType: 'bearer',
    refreshToken: 'rt',
    scope: 'openid banking/read',
    receivedAt: 1_000_000,
    expiresAt: 1_300_000,
  },
};

describe('refresh rule: less than min(60 s, 20% of the lifetime) left', () => {
  const token = (lifetimeMs: number): StoredTokens => ({
    accessToken: 'a',
    tokenType: 'bearer',
    scope: '',
    receivedAt: 0,
    expiresAt: lifetimeMs,
  });
  it('a 300 s token is due after 240 s (60 s left), not before', () => {
    assert.equal(refreshDue(token(300_000), 239_999), false);
    assert.equal(refreshDue(token(300_000), 240_001), true);
  });
  it('a 30 s token is due after 24 s (20% = 6 s left)', () => {
    assert.equal(refreshDue(token(30_000), 23_999), false);
    assert.equal(refreshDue(token(30_000), 24_001), true);
  });
  it('an hour-long token is due 60 s before expiry', () => {
    assert.equal(refreshDue(token(3_600_000), 3_539_999), false);
    assert.equal(refreshDue(token(3_600_000), 3_540_001), true);
  });
  it('a token without a known expiry is never refreshed early', () => {
    assert.equal(refreshDue({ ...token(0), expiresAt: undefined }, Number.MAX_SAFE_INTEGER), false);
  });
});

describe('token stores', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'strongroom-stores-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('memory: keeps a copy, so changing a loaded session does not change the store', async () => {
    const store = memoryTokenStore();
    await store.save(SESSION);
    const loaded = await store.load();
    assert.deepEqual(loaded, SESSION);
    if (loaded?.tokens) loaded.tokens.accessToken = 'changed';
    assert.equal((await store.load())?.tokens?.accessToken, 'at');
    await store.clear();
    assert.equal(await store.load(), undefined);
  });

  it('file: writes the session with mode 0600 in a 0700 directory, and clears it', async () => {
    const file = path.join(dir, 'nested', 'session.json');
    const store = fileTokenStore(file);
    assert.equal(await store.load(), undefined);
    await store.save(SESSION);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.deepEqual(await fileTokenStore(file).load(), SESSION);
    await store.clear();
    assert.equal(await store.load(), undefined);
  });

  it('file: the lock lets one holder in at a time', async () => {
    const store = fileTokenStore(path.join(dir, 'locked.json'));
    const events: string[] = [];
    const hold = (name: string) =>
      store.lock?.(async () => {
        events.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, 60));
        events.push(`${name} out`);
      });
    await Promise.all([hold('a'), hold('b')]);
    assert.deepEqual(
      events.map((e) => e.split(' ')[1]),
      ['in', 'out', 'in', 'out'],
    );
  });

  it('profiles file: named profiles with their sessions, mode 0600', async () => {
    const profiles = profilesFile(path.join(dir, 'cli', 'profiles.json'));
    const settings = {
      baseUrl: 'https://b.example',
      apiKey: 'k',
      clientId: 'c',
      redirectUri: 'http://127.0.0.1/cb',
    };
    await profiles.put('work', settings);
    await profiles.put('home', { ...settings, clientId: 'c2' });
    await profiles.tokenStore('work').save(SESSION);
    assert.equal(statSync(profiles.file).mode & 0o777, 0o600);
    assert.deepEqual(await profiles.names(), ['home', 'work']);
    assert.deepEqual((await profiles.get('work'))?.session, SESSION);
    assert.equal((await profiles.get('home'))?.session, undefined);
    await profiles.tokenStore('work').clear();
    assert.deepEqual(await profiles.get('work'), settings);
    const onDisk = JSON.parse(readFileSync(profiles.file, 'utf8')) as { profiles: Record<string, unknown> };
    assert.deepEqual(Object.keys(onDisk.profiles).sort(), ['home', 'work']);
  });

  it('browser session storage: one key, cleared on logout', async () => {
    const items = new Map<string, string>();
    const storage: StorageLike = {
      getItem: (key) => items.get(key) ?? null,
      setItem: (key, value) => void items.set(key, value),
      removeItem: (key) => void items.delete(key),
    };
    const store = sessionStorageTokenStore({ storage });
    await store.save(SESSION);
    assert.deepEqual([...items.keys()], ['strongroom.session']);
    assert.deepEqual(await store.load(), SESSION);
    await store.clear();
    assert.equal(items.size, 0);
    await assert.rejects(sessionStorageTokenStore().load(), /sessionStorage is not available/);
  });
});

describe('loopback listener (native sign-in, RFC 8252)', () => {
  it('refuses a redirect with another state and keeps waiting; accepts the expected one, then closes', async () => {
    const listener = await listenOnLoopback('http://127.0.0.1/callback');
    assert.match(listener.redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const waiting = listener.waitForRedirect('expected-state', 5000);

    const wrong = await fetch(`${listener.redirectUri}?code=c&state=other`);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.headers.get('cache-control'), 'no-store');
    const elsewhere = await fetch(new URL('/other?state=expected-state', listener.redirectUri));
    assert.equal(elsewhere.status, 404);

    const right = await fetch(`${listener.redirectUri}?code=c&state=expected-state`);
    assert.equal(right.status, 200);
    const url = await waiting;
    assert.equal(url.searchParams.get('code'), 'c');
    // The listener closes once it has answered: wait (bounded) until it refuses connections.
    await waitFor(() =>
      fetch(listener.redirectUri).then(
        () => false,
        () => true,
      ),
    ).catch(() => {});
    await assert.rejects(fetch(listener.redirectUri), 'closed after the one redirect');
  });

  it('gives up after the timeout and closes', async () => {
    const listener = await listenOnLoopback('http://127.0.0.1:0/callback');
    await assert.rejects(listener.waitForRedirect('s', 50), /no sign-in redirect within/);
    await waitFor(() =>
      fetch(listener.redirectUri).then(
        () => false,
        () => true,
      ),
    ).catch(() => {});
    await assert.rejects(fetch(listener.redirectUri));
  });

  it('refuses a redirect URI that is not http on a loopback address', async () => {
    await assert.rejects(listenOnLoopback('https://127.0.0.1/callback'), /must be http:\/\/127\.0\.0\.1/);
    await assert.rejects(listenOnLoopback('http://example.com/callback'), /must be http:\/\/127\.0\.0\.1/);
  });
});
