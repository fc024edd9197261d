import { readFile } from 'node:fs/promises';
import type { OAuthClientInfo, OAuthClientSpec } from '../../modules/oauth/index.ts';
import { appCommand, type Command, EXIT, output, writeLine } from '../command.ts';
import { flag, listOption, stringOption, subject } from '../options.ts';
import { table } from '../table.ts';

const COLUMNS: (keyof OAuthClientInfo)[] = [
  'clientId',
  'name',
  'kind',
  'tokenEndpointAuthMethod',
  'enabled',
  'firstParty',
  'allowedScopes',
];

/** `clients register|list|show|rotate-secret|disable|enable|revoke-grants` — OAuth clients. */
export const clientsCommands: Command[] = [
  appCommand(
    {
      name: 'clients register',
      summary: 'register an OAuth client (the secret is printed once)',
      options: {
        name: { type: 'string' },
        kind: { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'post-logout-redirect-uri': { type: 'string', multiple: true },
        'grant-types': { type: 'string' },
        'auth-method': { type: 'string' },
        scopes: { type: 'string' },
        'jwks-file': { type: 'string' },
        'client-id': { type: 'string' },
        organization: { type: 'string' },
        'first-party': { type: 'boolean' },
      },
      usage:
        'strongroom clients register --name "Back office" --kind confidential --redirect-uri https://bo.example/cb \\\n' +
        '  --auth-method client_secret_basic --scopes banking/read,profile/read [--grant-types authorization_code,refresh_token]',
    },
    async (app, args, io) => {
      const name = stringOption(args, 'name');
      const kind = (stringOption(args, 'kind') ?? 'confidential') as OAuthClientSpec['kind'];
      if (!name) {
        writeLine(io.stderr, '--name is required');
        return EXIT.usage;
      }
      const jwksFile = stringOption(args, 'jwks-file');
      const spec: OAuthClientSpec = {
        name,
        kind,
        clientId: stringOption(args, 'client-id'),
        redirectUris: listOption(args, 'redirect-uri') ?? [],
        postLogoutRedirectUris: listOption(args, 'post-logout-redirect-uri') ?? [],
        grantTypes: (listOption(args, 'grant-types') ??
          (kind === 'service'
            ? ['client_credentials']
            : ['authorization_code', 'refresh_token'])) as OAuthClientSpec['grantTypes'],
        tokenEndpointAuthMethod: (stringOption(args, 'auth-method') ??
          (kind === 'public' ? 'none' : 'client_secret_basic')) as OAuthClientSpec['tokenEndpointAuthMethod'],
        allowedScopes: listOption(args, 'scopes') ?? [],
        jwks: jwksFile
          ? (JSON.parse(await readFile(jwksFile, 'utf8')) as OAuthClientSpec['jwks'])
          : undefined,
        organizationName: stringOption(args, 'organization'),
        firstParty: flag(args, 'first-party'),
      };
      const result = await app.services.oauth.clients.register(spec);
      output(io, args.json, result, () =>
        [
          `Registered client ${result.clientId}.`,
          result.clientSecret ? `Client secret (shown once): ${result.clientSecret}` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
      return EXIT.ok;
    },
  ),
  appCommand({ name: 'clients list', summary: 'list OAuth clients' }, async (app, args, io) => {
    const clients = await app.services.oauth.clients.list();
    output(io, args.json, clients, () => table(clients, COLUMNS));
    return EXIT.ok;
  }),
  appCommand(
    { name: 'clients show', summary: 'show an OAuth client', options: { client: { type: 'string' } } },
    async (app, args, io) => {
      const id = subject(args, io, 'client');
      if (!id) return EXIT.usage;
      const client = await app.services.oauth.clients.get(id);
      if (!client) {
        writeLine(io.stderr, 'no such client');
        return EXIT.failure;
      }
      output(io, args.json, client, () => JSON.stringify(client, null, 2));
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'clients rotate-secret',
      summary: 'issue a new client secret; the old one stays valid for --overlap seconds (default 86400)',
      options: { client: { type: 'string' }, overlap: { type: 'string' } },
    },
    async (app, args, io) => {
      const id = subject(args, io, 'client');
      if (!id) return EXIT.usage;
      const overlap = Number(stringOption(args, 'overlap') ?? 86400);
      const result = await app.services.oauth.clients.rotateSecret(id, overlap);
      output(
        io,
        args.json,
        { clientId: id, ...result },
        () =>
          `New client secret (shown once): ${result.clientSecret}\nThe previous secret works until ${result.previousExpiresAt}.`,
      );
      return EXIT.ok;
    },
  ),
  ...(['disable', 'enable'] as const).map((verb) =>
    appCommand(
      {
        name: `clients ${verb}`,
        summary: verb === 'disable' ? 'disable a client and revoke its grants' : 'enable a client',
        options: { client: { type: 'string' }, reason: { type: 'string' } },
      },
      async (app, args, io) => {
        const id = subject(args, io, 'client');
        if (!id) return EXIT.usage;
        await app.services.oauth.clients.setEnabled(
          id,
          verb === 'enable',
          stringOption(args, 'reason') ?? `${verb}d by the institution (CLI)`,
        );
        output(io, args.json, { clientId: id, enabled: verb === 'enable' }, () => `Client ${id} ${verb}d.`);
        return EXIT.ok;
      },
    ),
  ),
];
