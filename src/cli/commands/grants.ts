import { appCommand, type Command, EXIT, output, writeLine } from '../command.ts';
import { stringOption } from '../options.ts';
import { table } from '../table.ts';

/** `grants list|revoke` — a user's grants (what they authorized which client to do). */
export const grantsCommands: Command[] = [
  appCommand(
    { name: 'grants list', summary: "list a user's grants", options: { user: { type: 'string' } } },
    async (app, args, io) => {
      const who = stringOption(args, 'user') ?? args.positionals[0];
      if (!who) {
        writeLine(io.stderr, '--user is required');
        return EXIT.usage;
      }
      const user = await app.services.identity.getUser(who);
      if (!user) {
        writeLine(io.stderr, 'no such user');
        return EXIT.failure;
      }
      const grants = await app.services.oauth.grants.listUserGrants(user.id);
      output(io, args.json, grants, () => table(grants, ['grantId', 'clientId', 'scope', 'expiresAt']));
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'grants revoke',
      summary:
        "revoke one grant (--grant) or all of a user's grants (--user); their tokens stop working within a second",
      options: { grant: { type: 'string' }, user: { type: 'string' }, reason: { type: 'string' } },
    },
    async (app, args, io) => {
      const reason = stringOption(args, 'reason') ?? 'revoked by the institution (CLI)';
      const grantId = stringOption(args, 'grant');
      const who = stringOption(args, 'user');
      if (grantId) {
        if (!(await app.services.oauth.grants.exists(grantId))) {
          writeLine(io.stderr, `no such grant: ${grantId}`);
          return EXIT.failure;
        }
        await app.services.oauth.grants.revokeGrant(grantId, reason);
        output(io, args.json, { revoked: [grantId] }, () => `Revoked grant ${grantId}.`);
        return EXIT.ok;
      }
      if (who) {
        const user = await app.services.identity.getUser(who);
        if (!user) {
          writeLine(io.stderr, 'no such user');
          return EXIT.failure;
        }
        const count = await app.services.oauth.grants.revokeUserGrants(user.id, reason);
        output(
          io,
          args.json,
          { user: user.id, revoked: count },
          () => `Revoked ${count} grant(s) of ${user.username}.`,
        );
        return EXIT.ok;
      }
      writeLine(io.stderr, '--grant or --user is required');
      return EXIT.usage;
    },
  ),
];
