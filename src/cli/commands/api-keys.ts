import { type ApiKeyView, cliActor } from '../../modules/developers/index.ts';
import { appCommand, type Command, EXIT, output } from '../command.ts';
import { requireOption, stringOption } from '../options.ts';
import { table } from '../table.ts';

const idAndReason = { id: { type: 'string' }, reason: { type: 'string' } } as const;
const COLUMNS: (keyof ApiKeyView)[] = [
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
      const keys = await app.services.developers.apiKeys.list(
        { clientApplicationId: stringOption(args, 'app') },
        cliActor,
      );
      output(io, args.json, keys, () => table(keys, COLUMNS));
      return EXIT.ok;
    },
  ),
  appCommand(
    { name: 'api-keys show', summary: 'show one API key', options: { id: { type: 'string' } } },
    async (app, args, io) => {
      const id = requireOption(args, io, 'id');
      if (!id) return EXIT.usage;
      const key = await app.services.developers.apiKeys.get(id, cliActor);
      output(io, args.json, key, () => table([key], COLUMNS));
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
        const needsReason = verb === 'suspend' || verb === 'revoke';
        const reason = needsReason ? requireOption(args, io, 'reason') : stringOption(args, 'reason');
        if (needsReason && !reason) return EXIT.usage;
        const keys = app.services.developers.apiKeys;
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
      const { apiKeys, usageReports } = app.services.developers;
      await apiKeys.get(keyId, cliActor);
      const report = await usageReports.report({
        keyIds: [keyId],
        granularity: stringOption(args, 'granularity'),
        since: stringOption(args, 'since'),
      });
      output(io, args.json, { keyId, ...report }, () =>
        [
          `${report.total} answers since ${report.since}`,
          table(report.items, ['bucket', 'api', 'operationId', 'status', 'count']),
        ].join('\n'),
      );
      return EXIT.ok;
    },
  ),
];
