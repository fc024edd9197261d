import { cliActor } from '../../modules/developers/index.ts';
import { appCommand, type Command, EXIT, output } from '../command.ts';
import { requireOption, stringOption } from '../options.ts';
import { table } from '../table.ts';

const idAndReason = { id: { type: 'string' }, reason: { type: 'string' } } as const;

/** `apps list|show|approve|suspend|reinstate|delete` — client applications (effective on running servers within 1 s). */
export const appsCommands: Command[] = [
  appCommand(
    { name: 'apps list', summary: 'list client applications', options: { org: { type: 'string' } } },
    async (app, args, io) => {
      const { applications } = app.services.developers;
      const apps = await applications.list({ organizationId: stringOption(args, 'org') }, cliActor);
      const views = await Promise.all(apps.map((a) => applications.view(a)));
      output(io, args.json, views, () =>
        table(views, [
          'id',
          'name',
          'kind',
          'environment',
          'state',
          'ratePlan',
          'clientId',
          'organizationId',
        ]),
      );
      return EXIT.ok;
    },
  ),
  appCommand(
    { name: 'apps show', summary: 'show one client application', options: { id: { type: 'string' } } },
    async (app, args, io) => {
      const id = requireOption(args, io, 'id');
      if (!id) return EXIT.usage;
      const { applications } = app.services.developers;
      const view = await applications.view(await applications.get(id, cliActor));
      output(io, args.json, view, () =>
        Object.entries(view)
          .map(([k, v]) => `${k.padEnd(24)} ${Array.isArray(v) ? v.join(' ') : String(v)}`)
          .join('\n'),
      );
      return EXIT.ok;
    },
  ),
  ...(
    [
      ['approve', 'active', 'approve a pending application'],
      ['suspend', 'suspended', 'suspend an application (its keys answer 403, its grants are revoked)'],
      ['reinstate', 'active', 'reinstate a suspended application'],
      ['delete', 'deleted', 'delete an application (revokes its keys, removes its OAuth client and grants)'],
    ] as const
  ).map(([verb, state, summary]) =>
    appCommand(
      {
        name: `apps ${verb}`,
        summary,
        options: idAndReason,
        usage: `strongroom apps ${verb} --id app_… --reason "…"`,
      },
      async (app, args, io) => {
        const id = requireOption(args, io, 'id');
        if (!id) return EXIT.usage;
        const needsReason = verb === 'suspend' || verb === 'delete';
        const reason = needsReason ? requireOption(args, io, 'reason') : stringOption(args, 'reason');
        if (needsReason && !reason) return EXIT.usage;
        const { applications } = app.services.developers;
        const updated = await applications.setState(id, state, reason ?? `${verb} (CLI)`, cliActor);
        const view = await applications.view(updated);
        output(io, args.json, view, () => `Application ${view.id} (${view.name}) is now ${view.state}.`);
        return EXIT.ok;
      },
    ),
  ),
];
