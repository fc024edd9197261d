import type { EntitlementActor } from '../../modules/entitlements/index.ts';
import { appCommand, type Command, EXIT, output } from '../command.ts';
import { listOption, positiveIntegerOption, requireOptions, stringOption } from '../options.ts';
import { table } from '../table.ts';

const CLI: EntitlementActor = { type: 'cli' };

const target = {
  subject: { type: 'string' },
  resource: { type: 'string' },
  id: { type: 'string' },
  permissions: { type: 'string' },
} as const;

/** `entitlements grant|revoke|list` — per-resource permissions of users (DESIGN.md §1 item 4); changes are audited by the service. */
export const entitlementsCommands: Command[] = [
  appCommand(
    {
      name: 'entitlements grant',
      summary: 'grant permissions on a resource (merged with existing ones)',
      options: { ...target, relationship: { type: 'string' } },
      usage:
        'strongroom entitlements grant --subject usr_… --resource account --id <accountId|*> --permissions view,viewBalance --relationship owner',
    },
    async (app, args, io) => {
      if (!requireOptions(args, io, ['subject', 'resource', 'id', 'permissions'])) return EXIT.usage;
      const resourceId = stringOption(args, 'id') ?? '';
      const grant = {
        subject: stringOption(args, 'subject') ?? '',
        resource: stringOption(args, 'resource') ?? '',
        resourceId,
        permissions: listOption(args, 'permissions') ?? [],
        relationship: stringOption(args, 'relationship') ?? (resourceId === '*' ? 'institution' : 'owner'),
      };
      await app.services.entitlements.grant(grant, undefined, CLI);
      output(
        io,
        args.json,
        grant,
        () =>
          `Granted ${grant.permissions.join(', ')} on ${grant.resource} ${grant.resourceId} to ${grant.subject}.`,
      );
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'entitlements revoke',
      summary: 'revoke some permissions on a resource, or all of them without --permissions',
      options: target,
      usage:
        'strongroom entitlements revoke --subject usr_… --resource account --id <accountId|*> [--permissions transferFrom]',
    },
    async (app, args, io) => {
      if (!requireOptions(args, io, ['subject', 'resource', 'id'])) return EXIT.usage;
      const revocation = {
        subject: stringOption(args, 'subject') ?? '',
        resource: stringOption(args, 'resource') ?? '',
        resourceId: stringOption(args, 'id') ?? '',
        permissions: listOption(args, 'permissions'),
      };
      await app.services.entitlements.revoke(revocation, undefined, CLI);
      output(
        io,
        args.json,
        revocation,
        () =>
          `Revoked ${revocation.permissions?.join(', ') ?? 'every permission'} on ${revocation.resource} ${revocation.resourceId} from ${revocation.subject}.`,
      );
      return EXIT.ok;
    },
  ),
  appCommand(
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
    },
    async (app, args, io) => {
      const limit = positiveIntegerOption(args, io, 'limit');
      if (limit === null) return EXIT.usage;
      const grants = await app.services.entitlements.list({
        subject: stringOption(args, 'subject'),
        resource: stringOption(args, 'resource'),
        resourceId: stringOption(args, 'id'),
        limit: limit ?? 1000,
      });
      output(io, args.json, grants, () =>
        table(grants, ['subject', 'resource', 'resourceId', 'permissions', 'relationship']),
      );
      return EXIT.ok;
    },
  ),
];
