import { appCommand, type Command, EXIT, output } from '../command.ts';
import { table } from '../table.ts';

/**
 * `sandbox enable|customers` — the sandbox institution (DESIGN.md §5.4): its test customers with sandbox
 * accounts and transactions. The demo has it; another institution enables it here, once.
 */
export const sandboxCommands: Command[] = [
  appCommand(
    {
      name: 'sandbox enable',
      summary: 'create the sandbox test customers with their sandbox accounts and transactions (idempotent)',
    },
    async (app, args, io) => {
      const created = await app.services.sandbox.enable();
      const customers = (await app.services.sandbox.customers()).map(({ username, persona }) => ({
        username,
        persona,
      }));
      output(
        io,
        args.json,
        { created: created.size > 0, customers },
        () =>
          `${created.size > 0 ? 'Sandbox enabled' : 'The sandbox was already enabled'}: ${customers.map((c) => c.username).join(', ')}. Developers see their passwords at /portal/sandbox.`,
      );
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'sandbox customers',
      summary: 'list the sandbox test customers with their (test) passwords, as the portal shows them',
    },
    async (app, args, io) => {
      const customers = (await app.services.sandbox.customers()).map(
        ({ id, username, password, persona }) => ({
          id,
          username,
          password,
          persona,
        }),
      );
      output(io, args.json, customers, () => table(customers, ['username', 'password', 'persona']));
      return EXIT.ok;
    },
  ),
];
