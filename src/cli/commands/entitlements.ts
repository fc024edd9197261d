import { type Command, type CommandArgs, EXIT, output, withApp, writeLine } from '../command.ts';

const str = (args: CommandArgs, name: string) => {
  const value = args.options[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((p) => p.trim())
    .filter(Boolean);

/** Reports the options a command needs but did not get; true when all are there. */
function requireAll(args: CommandArgs, io: Parameters<Command['run']>[1], names: string[]): boolean {
  const missing = names.filter((name) => str(args, name) === undefined);
  for (const name of missing) writeLine(io.stderr, `--${name} is required`);
  return missing.length === 0;
}

const target = {
  subject: { type: 'string' },
  resource: { type: 'string' },
  id: { type: 'string' },
  permissions: { type: 'string' },
} as const;

/** `entitlements grant|revoke|list` — per-resource permissions of users (DESIGN.md §1 item 4). */
export const entitlementsCommands: Command[] = [
  {
    name: 'entitlements grant',
    summary: 'grant permissions on a resource (merged with existing ones)',
    options: { ...target, relationship: { type: 'string' } },
    usage:
      'strongroom entitlements grant --subject usr_… --resource account --id <accountId|*> --permissions view,viewBalance --relationship owner',
    async run(args, io) {
      if (!requireAll(args, io, ['subject', 'resource', 'id', 'permissions'])) return EXIT.usage;
      const grant = {
        subject: str(args, 'subject') as string,
        resource: str(args, 'resource') as string,
        resourceId: str(args, 'id') as string,
        permissions: list(str(args, 'permissions')) ?? [],
        relationship: str(args, 'relationship') ?? (str(args, 'id') === '*' ? 'institution' : 'owner'),
      };
      await withApp(args.config, async (app) => {
        await app.context.db.transaction().execute(async (trx) => {
          await app.services.entitlements.grant(grant, trx);
          await app.context.audit.record(
            {
              actor: { type: 'cli' },
              action: 'entitlement.granted',
              target: { type: grant.resource, id: grant.resourceId },
              after: grant,
            },
            trx,
          );
        });
      });
      output(
        io,
        args.json,
        grant,
        () =>
          `Granted ${grant.permissions.join(', ')} on ${grant.resource} ${grant.resourceId} to ${grant.subject}.`,
      );
      return EXIT.ok;
    },
  },
  {
    name: 'entitlements revoke',
    summary: 'revoke some permissions on a resource, or all of them without --permissions',
    options: target,
    usage:
      'strongroom entitlements revoke --subject usr_… --resource account --id <accountId|*> [--permissions transferFrom]',
    async run(args, io) {
      if (!requireAll(args, io, ['subject', 'resource', 'id'])) return EXIT.usage;
      const revocation = {
        subject: str(args, 'subject') as string,
        resource: str(args, 'resource') as string,
        resourceId: str(args, 'id') as string,
        permissions: list(str(args, 'permissions')),
      };
      await withApp(args.config, async (app) => {
        await app.context.db.transaction().execute(async (trx) => {
          await app.services.entitlements.revoke(revocation, trx);
          await app.context.audit.record(
            {
              actor: { type: 'cli' },
              action: 'entitlement.revoked',
              target: { type: revocation.resource, id: revocation.resourceId },
              before: revocation,
            },
            trx,
          );
        });
      });
      output(
        io,
        args.json,
        revocation,
        () =>
          `Revoked ${revocation.permissions?.join(', ') ?? 'every permission'} on ${revocation.resource} ${revocation.resourceId} from ${revocation.subject}.`,
      );
      return EXIT.ok;
    },
  },
  {
    name: 'entitlements list',
    summary: 'list entitlements, optionally of one subject or resource',
    options: {
      subject: { type: 'string' },
      resource: { type: 'string' },
      id: { type: 'string' },
      limit: { type: 'string' },
    },
    usage:
      'strongroom entitlements list [--subject usr_…] [--resource account] [--id <accountId>] [--limit 1000]',
    async run(args, io) {
      const limit = str(args, 'limit') === undefined ? 1000 : Number(str(args, 'limit'));
      if (!Number.isSafeInteger(limit) || limit <= 0) {
        writeLine(io.stderr, '--limit must be a positive integer');
        return EXIT.usage;
      }
      const grants = await withApp(args.config, (app) =>
        app.services.entitlements.list({
          subject: str(args, 'subject'),
          resource: str(args, 'resource'),
          resourceId: str(args, 'id'),
          limit,
        }),
      );
      output(io, args.json, grants, () =>
        grants.length === 0
          ? 'No entitlements.'
          : grants
              .map(
                (g) =>
                  `${g.subject}  ${g.resource} ${g.resourceId}  ${g.permissions.join(',')}  (${g.relationship})`,
              )
              .join('\n'),
      );
      return EXIT.ok;
    },
  },
];
