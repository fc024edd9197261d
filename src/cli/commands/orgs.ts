import { cliActor } from '../../modules/developers/index.ts';
import { appCommand, type Command, EXIT, output } from '../command.ts';
import { requireOption, stringOption } from '../options.ts';
import { table } from '../table.ts';

/** `orgs list|create|members` — organizations of the developer portal. */
export const orgsCommands: Command[] = [
  appCommand({ name: 'orgs list', summary: 'list organizations' }, async (app, args, io) => {
    const orgs = await app.services.developers.organizations.list(cliActor);
    output(io, args.json, orgs, () => table(orgs, ['id', 'name', 'createdAt']));
    return EXIT.ok;
  }),
  appCommand(
    {
      name: 'orgs create',
      summary: 'create an organization (optionally with an owner member)',
      options: { name: { type: 'string' }, 'owner-id': { type: 'string' }, 'owner-name': { type: 'string' } },
      usage: 'strongroom orgs create --name "Fintech Labs" [--owner-id usr_… --owner-name ivan]',
    },
    async (app, args, io) => {
      const name = requireOption(args, io, 'name');
      if (!name) return EXIT.usage;
      const ownerId = stringOption(args, 'owner-id');
      const owner = ownerId
        ? { userId: ownerId, displayName: stringOption(args, 'owner-name') ?? ownerId }
        : undefined;
      const org = await app.services.developers.organizations.create({ name, owner }, cliActor);
      output(io, args.json, org, () => `Created organization ${org.id} (${org.name}).`);
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'orgs members',
      summary: 'list the members of an organization',
      options: { id: { type: 'string' } },
    },
    async (app, args, io) => {
      const id = requireOption(args, io, 'id');
      if (!id) return EXIT.usage;
      const members = await app.services.developers.organizations.members(id, cliActor);
      output(io, args.json, members, () => table(members, ['userId', 'displayName', 'role', 'createdAt']));
      return EXIT.ok;
    },
  ),
];
