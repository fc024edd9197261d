import type { User } from '../../modules/identity/index.ts';
import { appCommand, type Command, EXIT, output, readSecretFromStdin, writeLine } from '../command.ts';
import { flag, listOption, stringOption, subject } from '../options.ts';
import { table } from '../table.ts';

const USER_COLUMNS: (keyof User)[] = [
  'id',
  'username',
  'status',
  'environment',
  'roles',
  'mfaRequired',
  'mfaEnrolled',
];
const describeUser = (user: User) => table([user], USER_COLUMNS);

/** `users add|list|show|disable|enable|unlock|set-password|set-roles` */
export const usersCommands: Command[] = [
  appCommand(
    {
      name: 'users add',
      summary: 'add a user (password read from standard input)',
      options: {
        username: { type: 'string' },
        roles: { type: 'string' },
        'display-name': { type: 'string' },
        email: { type: 'string' },
        'mfa-required': { type: 'boolean' },
        'password-stdin': { type: 'boolean' },
      },
      usage: 'printf %s "$PASSWORD" | strongroom users add --username u --roles customer --password-stdin',
    },
    async (app, args, io) => {
      const username = subject(args, io, 'username');
      if (!username) return EXIT.usage;
      if (!flag(args, 'password-stdin')) {
        writeLine(io.stderr, '--password-stdin is required (passwords are never taken as arguments)');
        return EXIT.usage;
      }
      const password = await readSecretFromStdin(io.stdin);
      const user = await app.services.identity.createUser({
        username,
        password,
        roles: listOption(args, 'roles') ?? [],
        displayName: stringOption(args, 'display-name'),
        email: stringOption(args, 'email'),
        mfaRequired: flag(args, 'mfa-required'),
      });
      output(io, args.json, user, () => `Added user ${user.username} (${user.id}).`);
      return EXIT.ok;
    },
  ),
  appCommand({ name: 'users list', summary: 'list users' }, async (app, args, io) => {
    const users = await app.services.identity.listUsers();
    output(io, args.json, users, () => table(users, USER_COLUMNS));
    return EXIT.ok;
  }),
  appCommand(
    { name: 'users show', summary: 'show a user', options: { user: { type: 'string' } } },
    async (app, args, io) => {
      const id = subject(args, io, 'user');
      if (!id) return EXIT.usage;
      const user = await app.services.identity.getUser(id);
      if (!user) {
        writeLine(io.stderr, 'no such user');
        return EXIT.failure;
      }
      output(io, args.json, user, () => describeUser(user));
      return EXIT.ok;
    },
  ),
  ...(
    [
      [
        'disable',
        'disabled',
        "disable a user: ends the user's sessions and grants",
        'their sessions and grants have ended',
      ],
      ['enable', 'active', 'enable a disabled user', 'they may sign in again'],
    ] as const
  ).map(([verb, status, summary, effect]) =>
    appCommand(
      { name: `users ${verb}`, summary, options: { user: { type: 'string' }, reason: { type: 'string' } } },
      async (app, args, io) => {
        const id = subject(args, io, 'user');
        if (!id) return EXIT.usage;
        const reason = stringOption(args, 'reason') ?? `${verb}d by the institution (CLI)`;
        const user = await app.services.identity.setStatus(id, status, reason);
        output(
          io,
          args.json,
          user,
          () => `${verb === 'disable' ? 'Disabled' : 'Enabled'} ${user.username}; ${effect}.`,
        );
        return EXIT.ok;
      },
    ),
  ),
  appCommand(
    {
      name: 'users unlock',
      summary: 'unlock a user locked after failed sign-ins',
      options: { user: { type: 'string' } },
    },
    async (app, args, io) => {
      const id = subject(args, io, 'user');
      if (!id) return EXIT.usage;
      const user = await app.services.identity.unlock(id);
      output(io, args.json, user, () => `Unlocked ${user.username}.`);
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'users set-password',
      summary: "set a user's password (from standard input); ends their sessions and grants",
      options: { user: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    },
    async (app, args, io) => {
      const id = subject(args, io, 'user');
      if (!id) return EXIT.usage;
      if (!flag(args, 'password-stdin')) {
        writeLine(io.stderr, '--password-stdin is required (passwords are never taken as arguments)');
        return EXIT.usage;
      }
      await app.services.identity.setPassword(id, await readSecretFromStdin(io.stdin));
      const user = (await app.services.identity.getUser(id)) as User;
      output(
        io,
        args.json,
        { id: user.id, username: user.username, passwordChanged: true },
        () => `Password of ${user.username} changed; their sessions and grants have ended.`,
      );
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'users set-roles',
      summary: "replace a user's roles",
      options: { user: { type: 'string' }, roles: { type: 'string' } },
      usage: 'strongroom users set-roles --user alice --roles customer,developer',
    },
    async (app, args, io) => {
      const id = subject(args, io, 'user');
      const roles = listOption(args, 'roles');
      if (!id || !roles) {
        if (!roles) writeLine(io.stderr, '--roles is required');
        return EXIT.usage;
      }
      const user = await app.services.identity.setRoles(id, roles);
      output(io, args.json, user, () => describeUser(user));
      return EXIT.ok;
    },
  ),
];
