import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { StrongroomClient } from '@strongroom/client';
import type { Profile, ProfilesFile } from '@strongroom/client/node';
import { type CliIo, type Command, type CommandArgs, EXIT, writeLine } from '../command.ts';

/**
 * `strongroom login|call|logout`: the CLI for API consumers (DESIGN.md §5.4), on @strongroom/client.
 * Profiles live in `$STRONGROOM_CONFIG_DIR/profiles.json` (default `~/.config/strongroom`, mode 0600).
 * The SDK is imported when one of these commands runs, so the server commands never depend on its build.
 */
type Sdk = typeof import('@strongroom/client') & typeof import('@strongroom/client/node');

export async function loadSdk(): Promise<Sdk> {
  try {
    return { ...(await import('@strongroom/client')), ...(await import('@strongroom/client/node')) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND')
      throw new Error('the SDK in packages/client is not built: run `npm install` (or `npm run sdk:build`)');
    throw error;
  }
}

export function profilesPath(io: CliIo): string {
  const dir = io.env.STRONGROOM_CONFIG_DIR || path.join(io.env.HOME || homedir(), '.config', 'strongroom');
  return path.resolve(io.cwd, dir, 'profiles.json');
}

export const profileName = (args: CommandArgs): string =>
  typeof args.options.profile === 'string' && args.options.profile ? args.options.profile : 'default';

/** The SDK client of a saved profile, its session kept in the profiles file. */
export async function profileClient(
  sdk: Sdk,
  profiles: ProfilesFile,
  name: string,
  profile: Profile,
): Promise<StrongroomClient> {
  return sdk.createClient({
    baseUrl: profile.baseUrl,
    apiKey: profile.apiKey,
    clientId: profile.clientId,
    redirectUri: profile.redirectUri,
    scope: profile.scope,
    tokenStore: profiles.tokenStore(name),
    ...(profile.caFile ? { ca: await readFile(profile.caFile, 'utf8') } : {}),
  });
}

/** A saved profile, or a message saying how to create one. */
export async function savedProfile(
  sdk: Sdk,
  io: CliIo,
  args: CommandArgs,
): Promise<{ profiles: ProfilesFile; name: string; profile: Profile } | undefined> {
  const profiles = sdk.profilesFile(profilesPath(io));
  const name = profileName(args);
  const profile = await profiles.get(name);
  if (!profile) {
    writeLine(
      io.stderr,
      `There is no profile "${name}" in ${profiles.file}: run \`strongroom login\` first.`,
    );
    return undefined;
  }
  return { profiles, name, profile };
}

const text = (args: CommandArgs, name: string): string | undefined => {
  const value = args.options[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

export const loginCommand: Command = {
  name: 'login',
  summary: 'sign in to the APIs as a user (browser, PKCE) and keep the tokens in a profile',
  options: {
    profile: { type: 'string' },
    'base-url': { type: 'string' },
    'api-key': { type: 'string' },
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string' },
    scope: { type: 'string' },
    ca: { type: 'string' },
    'no-browser': { type: 'boolean' },
  },
  usage: [
    'strongroom login [--profile NAME] [--base-url URL --api-key KEY --client-id ID',
    '                 --redirect-uri http://127.0.0.1:PORT/callback] [--scope "S …"] [--ca FILE] [--no-browser]',
    '',
    'Prints the sign-in URL (and opens it unless --no-browser), waits for the redirect back on the',
    'loopback address (any port; the default http://127.0.0.1/callback takes a free one), then stores the',
    'tokens in $STRONGROOM_CONFIG_DIR/profiles.json (default ~/.config/strongroom, mode 0600).',
    'The API key may also come from STRONGROOM_API_KEY. Values not given are taken from the saved profile.',
    '--scope defaults to "openid offline_access" plus every scope the server lists; it grants what the',
    "app and the user may. --ca trusts an extra CA certificate (PEM), e.g. the demo's <data-dir>/tls/ca.pem.",
  ].join('\n'),
  async run(args, io) {
    const sdk = await loadSdk();
    const profiles = sdk.profilesFile(profilesPath(io));
    const name = profileName(args);
    const saved = await profiles.get(name);
    const caFile = text(args, 'ca');
    const settings = {
      baseUrl: text(args, 'base-url') ?? saved?.baseUrl,
      apiKey: text(args, 'api-key') ?? (io.env.STRONGROOM_API_KEY || undefined) ?? saved?.apiKey,
      clientId: text(args, 'client-id') ?? saved?.clientId,
      redirectUri: text(args, 'redirect-uri') ?? saved?.redirectUri ?? 'http://127.0.0.1/callback',
      scope: text(args, 'scope') ?? saved?.scope,
      caFile: caFile ? path.resolve(io.cwd, caFile) : saved?.caFile,
    };
    const missing = (['baseUrl', 'apiKey', 'clientId'] as const).filter((key) => !settings[key]);
    if (missing.length > 0) {
      const flags = {
        baseUrl: '--base-url',
        apiKey: '--api-key (or STRONGROOM_API_KEY)',
        clientId: '--client-id',
      };
      writeLine(io.stderr, `strongroom login: give ${missing.map((key) => flags[key]).join(', ')}`);
      return EXIT.usage;
    }
    const profile: Profile = {
      baseUrl: new URL(settings.baseUrl as string).origin,
      apiKey: settings.apiKey as string,
      clientId: settings.clientId as string,
      redirectUri: settings.redirectUri,
      ...(settings.scope ? { scope: settings.scope } : {}),
      ...(settings.caFile ? { caFile: settings.caFile } : {}),
    };
    await profiles.put(name, { ...profile, ...(saved?.session ? { session: saved.session } : {}) });
    const client = await profileClient(sdk, profiles, name, profile);
    let session: Awaited<ReturnType<StrongroomClient['login']>>;
    try {
      session = await client.login({
        onAuthorizationUrl: async (url) => {
          writeLine(io.stdout, `Open this URL in a browser to sign in:\n\n  ${url}\n`);
          writeLine(io.stdout, 'Waiting for the sign-in to finish (up to 5 minutes)…');
          if (args.options['no-browser'] !== true) {
            const { default: open } = await import('open');
            await open(url).catch(() =>
              writeLine(io.stderr, 'Could not open a browser: open the URL yourself.'),
            );
          }
        },
      });
    } catch (error) {
      // The authorization server's answer (e.g. access_denied when consent is refused), in its words.
      const refused = error as { error?: unknown; error_description?: unknown };
      if (typeof refused.error !== 'string') throw error;
      writeLine(
        io.stderr,
        `strongroom login: sign-in refused (${refused.error}${refused.error_description ? `: ${refused.error_description}` : ''})`,
      );
      return EXIT.failure;
    } finally {
      await client.close();
    }
    writeLine(
      io.stdout,
      `Signed in (profile "${name}"). Scopes: ${session.scopes.join(' ') || '(none)'}. Tokens are in ${profiles.file}.`,
    );
    return EXIT.ok;
  },
};
