import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { listenFailure } from '../../src/cli/commands/start.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { waitFor } from '../helpers/wait.ts';

// Issue 13 item 6: start-up and log noise a developer meets in the first minutes.
describe('start-up noise', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t?.close());

  it('logs static files and health probes at debug, every API or page request at info', async () => {
    const probes = [
      await t.app.http.inject({ method: 'GET', url: '/health/live' }),
      await t.app.http.inject({ method: 'GET', url: '/static/portal.css' }),
    ];
    const page = await t.app.http.inject({ method: 'GET', url: '/portal/apis' });
    const missing = await t.app.http.inject({ method: 'GET', url: '/static/no-such-file.css' });
    assert.deepEqual(
      probes.map((r) => r.statusCode),
      [200, 200],
    );
    assert.equal(page.statusCode, 200);
    assert.ok(missing.statusCode >= 400);
    t.app.context.logger.flush();
    const lineOf = (id: unknown) => t.logs.entries().find((e) => e.requestId === id && e.msg === 'request');
    await waitFor(() => lineOf(missing.headers['x-request-id']));
    assert.equal(lineOf(page.headers['x-request-id'])?.level, 'info');
    assert.equal(lineOf(missing.headers['x-request-id'])?.level, 'info', 'a failure is worth a line');
    for (const probe of probes) assert.equal(lineOf(probe.headers['x-request-id']), undefined);
  });

  it('says which port is taken and to use --port when the address is in use', async () => {
    const first = createServer().listen(0, '127.0.0.1');
    await once(first, 'listening');
    const port = (first.address() as { port: number }).port;
    const second = createServer().listen(port, '127.0.0.1');
    const [error] = (await once(second, 'error')) as [NodeJS.ErrnoException];
    first.close();
    assert.equal(error.code, 'EADDRINUSE');
    const message = listenFailure(error, { port, host: '127.0.0.1' });
    assert.match(message, new RegExp(`^port ${port} on 127\\.0\\.0\\.1 is already in use`));
    assert.match(message, new RegExp(`strongroom start --port ${port + 1}`));
    assert.equal(listenFailure(new Error('other'), { port, host: '127.0.0.1' }), 'other');
  });
});
