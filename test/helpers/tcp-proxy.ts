import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy a test controls, in front of a service the machine shares (PostgreSQL, Redis): `stall()`
 * stops moving bytes (as a frozen server or a cut link does: connections stay open, nothing answers),
 * `refuse()` drops every connection and refuses new ones (a stopped server), `restore()` ends either.
 * The shared service itself is never touched.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const pairs = new Set<{ client: Socket; upstream?: Socket }>();
  let stalled = false;
  let refusing = false;
  const waiting: (() => void)[] = [];

  const open = (pair: { client: Socket; upstream?: Socket }) => {
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
    const end = () => {
      pair.client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    upstream.on('error', end);
    upstream.on('close', end);
  };

  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const pair: { client: Socket; upstream?: Socket } = { client };
    pairs.add(pair);
    client.on('error', () => {});
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (stalled) {
      client.pause();
      waiting.push(() => {
        client.resume();
        open(pair);
      });
    } else open(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    /** Stop moving bytes both ways; connections stay open. */
    stall() {
      stalled = true;
      for (const { client, upstream } of pairs) {
        if (!upstream) continue;
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    /** Drop every connection and refuse new ones, as a stopped server does. */
    refuse() {
      refusing = true;
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream?.destroy();
      }
      pairs.clear();
    },
    /** Back to normal. */
    restore() {
      stalled = false;
      refusing = false;
      for (const { client, upstream } of pairs) {
        if (!upstream) continue;
        client.pipe(upstream);
        upstream.pipe(client);
      }
      for (const start of waiting.splice(0)) start();
    },
    async close() {
      this.refuse();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export type TcpProxy = Awaited<ReturnType<typeof startTcpProxy>>;
