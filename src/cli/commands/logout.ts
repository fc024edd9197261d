import { type Command, EXIT, writeLine } from '../command.ts';
import { loadSdk, profileClient, savedProfile } from './login.ts';

export const logoutCommand: Command = {
  name: 'logout',
  summary: "revoke a profile's session at the authorization server and forget its tokens",
  options: { profile: { type: 'string' } },
  usage: [
    'strongroom logout [--profile NAME]',
    '',
    'Revokes the refresh token (which ends the whole grant: its access tokens stop working within a',
    'second) and removes the tokens from the profile. The connection settings stay, so `strongroom login`',
    'needs no flags next time.',
  ].join('\n'),
  async run(args, io) {
    const sdk = await loadSdk();
    const found = await savedProfile(sdk, io, args);
    if (!found) return EXIT.failure;
    if (!found.profile.session?.tokens) {
      writeLine(io.stdout, `Profile "${found.name}" is not signed in.`);
      return EXIT.ok;
    }
    const client = await profileClient(sdk, found.profiles, found.name, found.profile);
    try {
      await client.logout();
    } finally {
      await client.close();
    }
    writeLine(
      io.stdout,
      `Signed out (profile "${found.name}"): the session was revoked and its tokens forgotten.`,
    );
    return EXIT.ok;
  },
};
