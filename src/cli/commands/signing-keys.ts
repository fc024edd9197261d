import { appCommand, type Command, EXIT, output } from '../command.ts';
import { table } from '../table.ts';

/** `signing-keys list|rotate` — the authorization server's token signing keys. */
export const signingKeysCommands: Command[] = [
  appCommand({ name: 'signing-keys list', summary: 'list published signing keys' }, async (app, args, io) => {
    await app.services.oauth.keys.ensure();
    const keys = await app.services.oauth.keys.list();
    output(io, args.json, keys, () => table(keys, ['kid', 'alg', 'state', 'createdAt', 'unpublishAt']));
    return EXIT.ok;
  }),
  appCommand(
    {
      name: 'signing-keys rotate',
      summary: 'sign with a new key; the old one stays published until its tokens have expired',
    },
    async (app, args, io) => {
      await app.services.oauth.keys.ensure();
      const result = await app.services.oauth.keys.rotate();
      output(
        io,
        args.json,
        result,
        () =>
          `New signing key ${result.kid}; previous ${result.previous.join(', ') || '(none)'} stays published until its tokens expire.`,
      );
      return EXIT.ok;
    },
  ),
];
