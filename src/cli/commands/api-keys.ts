import { cliActor } from '../../modules/developers/index.ts';
import { usageReport } from '../../modules/developers/platform-api.ts';
import type { Command } from '../command.ts';
import {
  appCommand,
  developersOf,
  EXIT,
  optionalString,
  output,
  requireOption,
  table,
} from './developers-cli.ts';

const idAndReason = { id: { type: 'string' }, reason: { type: 'string' } } as const;
const COLUMNS = [
  'id',
  'clientApplicationId',
  'label',
  'prefix',
  'last4',
  'state',
  'expiresAt',
  'stateReason',
];

/** `api-keys list|show|activate|suspend|reinstate|revoke` and `usage` (effective on running servers within 1 s). */
export const apiKeysCommands: Command[] = [
  appCommand(
    {
      name: 'api-keys list',
      summary: 'list API keys (never their plaintext)',
      options: { app: { type: 'string' } },
    },
    async (app, args, io) => {
      const keys = await developersOf(app).apiKeys.list(
        { clientApplicationId: optionalString(args, 'app') },
        cliActor,
      );
      output(io, args.json, keys, () => table(keys as never, COLUMNS));
      return EXIT.ok;
    },
  ),
  appCommand(
    { name: 'api-keys show', summary: 'show one API key', options: { id: { type: 'string' } } },
    async (app, args, io) => {
      const id = requireOption(args, io, 'id');
      if (!id) return EXIT.usage;
      const key = await developersOf(app).apiKeys.get(id, cliActor);
      output(io, args.json, key, () => table([key as never], COLUMNS));
      return EXIT.ok;
    },
  ),
  ...(
    [
      ['activate', 'approve a pending key or reinstate a suspended one'],
      ['reinstate', 'reinstate a suspended key (same as activate)'],
      ['suspend', 'suspend an active key (403 at the gateway until reinstated)'],
      ['revoke', 'revoke a key for good (401 at the gateway from the next call)'],
    ] as const
  ).map(([verb, summary]) =>
    appCommand(
      {
        name: `api-keys ${verb}`,
        summary,
        options: idAndReason,
        usage: `strongroom api-keys ${verb} --id key_… --reason "…"`,
      },
      async (app, args, io) => {
        const id = requireOption(args, io, 'id');
        if (!id) return EXIT.usage;
        const reason = optionalString(args, 'reason');
        if (!reason && verb !== 'activate' && verb !== 'reinstate') {
          requireOption(args, io, 'reason');
          return EXIT.usage;
        }
        const keys = developersOf(app).apiKeys;
        const key =
          verb === 'suspend'
            ? await keys.suspend(id, reason ?? '', cliActor)
            : verb === 'revoke'
              ? await keys.revoke(id, reason ?? null, cliActor)
              : await keys.activate(id, reason ?? null, cliActor);
        output(
          io,
          args.json,
          key,
          () => `API key ${key.id} (${key.prefix}…${key.last4}) is now ${key.state}.`,
        );
        return EXIT.ok;
      },
    ),
  ),
  appCommand(
    {
      name: 'usage',
      summary: 'usage of an API key per API, operation and status',
      options: { key: { type: 'string' }, granularity: { type: 'string' }, since: { type: 'string' } },
      usage: 'strongroom usage --key key_… [--granularity minute|hour|day] [--since 2026-11-01T00:00:00Z]',
    },
    async (app, args, io) => {
      const keyId = requireOption(args, io, 'key');
      if (!keyId) return EXIT.usage;
      const granularity = optionalString(args, 'granularity') ?? 'day';
      if (granularity !== 'minute' && granularity !== 'hour' && granularity !== 'day') {
        io.stderr.write('--granularity must be minute, hour or day\n');
        return EXIT.usage;
      }
      const dev = developersOf(app);
      await dev.apiKeys.get(keyId, cliActor);
      const report = await usageReport(
        dev.repo,
        dev.usage,
        [keyId],
        granularity,
        optionalString(args, 'since'),
        app.context.clock.now(),
      );
      output(io, args.json, { keyId, ...report }, () =>
        [
          `${report.total} answers since ${report.since}`,
          table(report.items as never, ['bucket', 'api', 'operationId', 'status', 'count']),
        ].join('\n'),
      );
      return EXIT.ok;
    },
  ),
];
