import { type Command, EXIT, writeLine } from '../command.ts';
import { loadSdk, profileClient, savedProfile } from './login.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Pretty-print JSON bodies; anything else as it came. */
function render(body: string, contentType: string | null): string {
  if (!/[/+]json\b/.test(contentType ?? '') || body === '') return body;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

export const callCommand: Command = {
  name: 'call',
  summary: "call an API operation with a profile's API key and tokens (refreshed before expiry)",
  options: {
    profile: { type: 'string' },
    data: { type: 'string' },
    header: { type: 'string', multiple: true },
  },
  usage: [
    'strongroom call METHOD PATH [--data JSON] [--header "Name: value" …] [--profile NAME]',
    '',
    'Example: strongroom call GET /accounts/accounts',
    'Prints the response body. An error answer prints its problem+json body and exits with 1. The access',
    'token is refreshed first when less than min(60 s, 20% of its lifetime) remains.',
  ].join('\n'),
  async run(args, io) {
    const [method, target, ...extra] = args.positionals;
    if (!method || !target || extra.length > 0 || !METHODS.has(method.toUpperCase())) {
      writeLine(
        io.stderr,
        'strongroom call: give METHOD PATH, e.g. `strongroom call GET /accounts/accounts`',
      );
      return EXIT.usage;
    }
    let body: unknown;
    if (typeof args.options.data === 'string') {
      try {
        body = JSON.parse(args.options.data);
      } catch {
        writeLine(io.stderr, 'strongroom call: --data must be JSON');
        return EXIT.usage;
      }
    }
    const headers = new Headers();
    const raw = args.options.header;
    for (const header of Array.isArray(raw) ? raw : []) {
      const at = String(header).indexOf(':');
      if (at < 1) {
        writeLine(io.stderr, `strongroom call: --header must be "Name: value" (got "${header}")`);
        return EXIT.usage;
      }
      headers.append(
        String(header).slice(0, at).trim(),
        String(header)
          .slice(at + 1)
          .trim(),
      );
    }

    const sdk = await loadSdk();
    const found = await savedProfile(sdk, io, args);
    if (!found) return EXIT.failure;
    const client = await profileClient(sdk, found.profiles, found.name, found.profile);
    try {
      const response = await client.call(method, target, { body, headers });
      const text = await response.text();
      if (text) writeLine(io.stdout, render(text, response.headers.get('content-type')));
      return EXIT.ok;
    } catch (error) {
      if (error instanceof sdk.StrongroomProblem) {
        writeLine(io.stdout, JSON.stringify(error.problem, null, 2));
        return EXIT.failure;
      }
      if (error instanceof sdk.SignInRequired) {
        writeLine(io.stderr, `strongroom call: ${error.message} Run \`strongroom login\`.`);
        return EXIT.failure;
      }
      throw error;
    } finally {
      await client.close();
    }
  },
};
