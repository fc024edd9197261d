import type { Role, RoleCategory } from '../../modules/identity/index.ts';
import { appCommand, type Command, EXIT, output, writeLine } from '../command.ts';
import { flag, listOption, stringOption, subject } from '../options.ts';
import { table } from '../table.ts';

const COLUMNS: (keyof Role)[] = ['name', 'category', 'requiresMfa', 'scopes'];

/** `roles list|set-scopes|add` — roles and the scopes they grant. */
export const rolesCommands: Command[] = [
  appCommand(
    { name: 'roles list', summary: 'list roles and the scopes they grant' },
    async (app, args, io) => {
      const roles = await app.services.identity.listRoles();
      output(io, args.json, roles, () => table(roles, COLUMNS));
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'roles set-scopes',
      summary: 'replace the scopes a role grants (applies to tokens issued from now on)',
      options: { role: { type: 'string' }, scopes: { type: 'string' } },
      usage: 'strongroom roles set-scopes --role teller --scopes banking/read,profile/read',
    },
    async (app, args, io) => {
      const name = subject(args, io, 'role');
      const scopes = listOption(args, 'scopes');
      if (!name || !scopes) {
        if (!scopes) writeLine(io.stderr, '--scopes is required');
        return EXIT.usage;
      }
      const role = await app.services.identity.getRole(name);
      if (!role) {
        writeLine(io.stderr, `no role ${name}`);
        return EXIT.failure;
      }
      const saved = await app.services.identity.saveRole({ ...role, scopes });
      output(io, args.json, saved, () => table([saved], COLUMNS));
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'roles add',
      summary: 'add (or redefine) a role',
      options: {
        role: { type: 'string' },
        category: { type: 'string' },
        scopes: { type: 'string' },
        description: { type: 'string' },
        'requires-mfa': { type: 'boolean' },
      },
      usage: 'strongroom roles add --role auditor --category operator --scopes data/read --requires-mfa',
    },
    async (app, args, io) => {
      const name = subject(args, io, 'role');
      const category = stringOption(args, 'category') as RoleCategory | undefined;
      if (!name || !category) {
        if (!category) writeLine(io.stderr, '--category is required (customer, operator or system)');
        return EXIT.usage;
      }
      const role: Role = {
        name,
        category,
        description: stringOption(args, 'description') ?? name,
        scopes: listOption(args, 'scopes') ?? [],
        // Operator and system roles require MFA unless said otherwise.
        requiresMfa: flag(args, 'requires-mfa') || category !== 'customer',
      };
      const saved = await app.services.identity.saveRole(role);
      output(io, args.json, saved, () => table([saved], COLUMNS));
      return EXIT.ok;
    },
  ),
];
