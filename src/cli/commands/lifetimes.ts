import type { Lifetimes } from '../../modules/oauth/index.ts';
import { appCommand, type Command, EXIT, output, writeLine } from '../command.ts';
import { stringOption } from '../options.ts';

const FLAGS: Record<string, keyof Lifetimes> = {
  'access-token': 'accessToken',
  code: 'code',
  'refresh-token-idle': 'refreshTokenIdle',
  'refresh-token-absolute': 'refreshTokenAbsolute',
  'session-idle': 'sessionIdle',
  'session-absolute': 'sessionAbsolute',
  interaction: 'interaction',
};
const CLIENT_FLAGS = new Set(['accessToken', 'code', 'refreshTokenIdle', 'refreshTokenAbsolute']);

const render = (values: object) =>
  Object.entries(values)
    .map(([k, v]) => `${k.padEnd(22)} ${v}`)
    .join('\n');

/** `lifetimes show|set` — token, code, session and interaction lifetimes (seconds), global or per client. */
export const lifetimesCommands: Command[] = [
  appCommand(
    {
      name: 'lifetimes show',
      summary: 'show lifetimes (seconds), global or for one client',
      options: { client: { type: 'string' } },
    },
    async (app, args, io) => {
      const { lifetimes, clients } = app.services.oauth;
      await lifetimes.load();
      const clientId = stringOption(args, 'client');
      if (clientId) {
        const client = await clients.get(clientId);
        if (!client) {
          writeLine(io.stderr, 'no such client');
          return EXIT.failure;
        }
        const effective = lifetimes.forClient(client.lifetimes);
        output(io, args.json, { client: clientId, overrides: client.lifetimes ?? {}, effective }, () =>
          render(effective),
        );
        return EXIT.ok;
      }
      output(io, args.json, lifetimes.global(), () => render(lifetimes.global()));
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'lifetimes set',
      summary: 'set lifetimes in seconds; new tokens follow within a second',
      options: {
        client: { type: 'string' },
        ...Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }])),
      },
      usage: 'strongroom lifetimes set --access-token 300 [--client <clientId>]',
    },
    async (app, args, io) => {
      const patch: Partial<Lifetimes> = {};
      for (const [flag, key] of Object.entries(FLAGS)) {
        const value = stringOption(args, flag);
        if (value === undefined) continue;
        if (!/^\d+$/.test(value)) {
          writeLine(io.stderr, `--${flag} must be a whole number of seconds`);
          return EXIT.usage;
        }
        patch[key] = Number(value);
      }
      if (Object.keys(patch).length === 0) {
        writeLine(
          io.stderr,
          `give at least one of ${Object.keys(FLAGS)
            .map((f) => `--${f}`)
            .join(', ')}`,
        );
        return EXIT.usage;
      }
      const { lifetimes, clients } = app.services.oauth;
      const clientId = stringOption(args, 'client');
      if (clientId) {
        const bad = Object.keys(patch).filter((k) => !CLIENT_FLAGS.has(k));
        if (bad.length) {
          writeLine(
            io.stderr,
            `per-client lifetimes are access-token, code, refresh-token-idle and refresh-token-absolute`,
          );
          return EXIT.usage;
        }
        const client = await clients.get(clientId);
        if (!client) {
          writeLine(io.stderr, 'no such client');
          return EXIT.failure;
        }
        const overrides = { ...(client.lifetimes ?? {}), ...patch };
        await clients.update(clientId, { lifetimes: overrides });
        output(io, args.json, { client: clientId, overrides }, () => render(overrides));
        return EXIT.ok;
      }
      const next = await lifetimes.set(patch);
      output(io, args.json, next, () => render(next));
      return EXIT.ok;
    },
  ),
];
