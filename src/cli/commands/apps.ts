import { cliActor } from '../../modules/developers/index.ts';
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

/** `apps list|show|approve|suspend|reinstate|delete` — client applications (effective on running servers within 1 s). */
export const appsCommands: Command[] = [
  appCommand(
    { name: 'apps list', summary: 'list client applications', options: { org: { type: 'string' } } },
    async (app, args, io) => {
      const dev = developersOf(app);
      const apps = await dev.applications.list({ organizationId: optionalString(args, 'org') }, cliActor);
      const views = await Promise.all(apps.map((a) => dev.applications.view(a)));
      output(io, args.json, views, () =>
        table(views as never, [
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
      const dev = developersOf(app);
      const view = await dev.applications.view(await dev.applications.get(id, cliActor));
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
        const reason = optionalString(args, 'reason');
        if (!reason && (verb === 'suspend' || verb === 'delete')) {
          requireOption(args, io, 'reason');
          return EXIT.usage;
        }
        const dev = developersOf(app);
        const updated = await dev.applications.setState(id, state, reason ?? `${verb} (CLI)`, cliActor);
        const view = await dev.applications.view(updated);
        output(io, args.json, view, () => `Application ${view.id} (${view.name}) is now ${view.state}.`);
        return EXIT.ok;
      },
    ),
  ),
];
