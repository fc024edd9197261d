import { cliActor, requestView } from '../../modules/developers/index.ts';
import { appCommand, type Command, EXIT, output, writeLine } from '../command.ts';
import { stringOption } from '../options.ts';
import { table } from '../table.ts';

const idOf = (args: { positionals: string[] }) => args.positionals[0];

/**
 * `requests list|approve|reject` — the institution's queue of application changes (scope, production and
 * redirect-URI requests, DESIGN.md §5.1, §5.5). Approval applies the change in one transaction, audited.
 */
export const requestsCommands: Command[] = [
  appCommand(
    {
      name: 'requests list',
      summary: 'list change requests (default: pending)',
      options: { state: { type: 'string' }, app: { type: 'string' }, all: { type: 'boolean' } },
      usage: 'strongroom requests list [--state pending|approved|rejected | --all] [--app app_…]',
    },
    async (app, args, io) => {
      const state = args.options.all === true ? undefined : (stringOption(args, 'state') ?? 'pending');
      const found = await app.services.developers.requests.list(
        { state, applicationId: stringOption(args, 'app') },
        cliActor,
      );
      const views = found.map(requestView);
      output(io, args.json, views, () =>
        table(
          views.map((v) => ({ ...v, requested: v.requested.join(' ') })),
          ['id', 'kind', 'applicationId', 'requested', 'requestedBy', 'createdAt', 'state'],
        ),
      );
      return EXIT.ok;
    },
  ),
  ...(['approve', 'reject'] as const).map((verb) =>
    appCommand(
      {
        name: `requests ${verb}`,
        summary: `${verb} a change request${verb === 'approve' ? ' (applies it at once)' : ''}`,
        options: { reason: { type: 'string' } },
        usage: `strongroom requests ${verb} <requestId> [--reason "…"]`,
      },
      async (app, args, io) => {
        const id = idOf(args);
        if (!id) {
          writeLine(io.stderr, `usage: strongroom requests ${verb} <requestId> [--reason "…"]`);
          return EXIT.usage;
        }
        const { requests } = app.services.developers;
        const reason = stringOption(args, 'reason') ?? null;
        const decided = await (verb === 'approve' ? requests.approve : requests.reject)(id, cliActor, reason);
        output(
          io,
          args.json,
          requestView(decided),
          () => `Request ${id} (${decided.kind}) is ${decided.state}.`,
        );
        return EXIT.ok;
      },
    ),
  ),
];
