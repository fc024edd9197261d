import { html, type SafeHtml } from '../html.ts';

/**
 * An application's getting-started page: copyable curl, TypeScript SDK and CLI snippets filled with the
 * app's real ids. Never a secret: the API key and client secret appear as environment variables, since
 * they are shown only once, when issued.
 */

export interface GettingStartedInput {
  baseUrl: string;
  /** `--cacert` argument for curl when the server's certificate comes from the demo's local CA. */
  caFile?: string;
  app: {
    id: string;
    name: string;
    kind: string;
    clientId: string;
    environment: string;
    redirectUris: string[];
    scopes: string[];
    apis: string[];
  };
  /** The newest live key's visible part (`srk_test_…abcd`), to recognise it. */
  keyHint?: string;
  /** The redirect URI the API reference registers on sandbox apps (not the app's own). */
  referenceRedirect: string;
  /** A public API the app may call with its key only, and one that needs a user's token. */
  keyOnlyPath: string;
  tokenPath: string;
  referenceApi: string;
}

/** A snippet with a copy button (portal.js; without JavaScript the text is selectable as usual). */
function snippet(id: string, label: string, code: string): SafeHtml {
  return html`<div class="snippet"><div class="snippet-head"><span class="small muted">${label}</span>
<button type="button" class="button-secondary copy-button" data-copy-target="${id}" hidden>Copy</button></div>
<pre><code id="${id}">${code}</code></pre></div>`;
}

export function gettingStartedPage(input: GettingStartedInput): SafeHtml {
  const { app, baseUrl } = input;
  const cacert = input.caFile ? ` --cacert '${input.caFile}'` : '';
  const ownRedirects = app.redirectUris.filter((uri) => uri !== input.referenceRedirect);
  const loopback = ownRedirects.find(
    (uri) => uri.startsWith('http://127.0.0.1') || uri.startsWith('http://[::1]'),
  );
  const redirectUri = loopback ?? ownRedirects[0] ?? 'https://your-app.example/callback';
  const scopes = ['openid', 'offline_access', ...app.scopes].join(' ');
  const confidential = app.kind === 'web' || app.kind === 'service';
  const env = `export STRONGROOM_API_KEY='<your API key${input.keyHint ? `, ${input.keyHint}` : ''}>'${
    confidential ? `\nexport STRONGROOM_CLIENT_SECRET='<your client secret>'` : ''
  }`;
  return html`<p class="small"><a href="/portal/applications/${app.id}">← ${app.name}</a></p>
<h1>Getting started with ${app.name}</h1>
<p>Your first call in five minutes. The snippets below carry this application's real ids; its API key${confidential ? ' and client secret' : ''} were shown once, when issued — keep them in environment variables, never in code. Lost one? Issue a new key${confidential ? ' or rotate the secret' : ''} on the <a href="/portal/applications/${app.id}">application page</a>.</p>
<section class="card" aria-labelledby="gs-credentials">
<h2 id="gs-credentials">1. Your credentials</h2>
<dl class="details">
<dt>Base URL</dt><dd><code>${baseUrl}</code></dd>
<dt>Client id</dt><dd><code id="gs-client-id">${app.clientId}</code></dd>
<dt>Redirect URI</dt><dd><code>${redirectUri}</code></dd>
<dt>Environment</dt><dd>${app.environment}</dd>
<dt>Scopes</dt><dd>${app.scopes.join(' ') || '—'}</dd>
</dl>
${snippet('gs-env', 'shell', env)}
</section>
<section class="card" aria-labelledby="gs-curl">
<h2 id="gs-curl">2. Call an API with curl</h2>
<p>Operations marked with a lock need a user's access token as well; the API's root needs only the key.</p>
${snippet('gs-curl-key', 'curl — API key only', `curl${cacert} -H "API-Key: $STRONGROOM_API_KEY" \\\n  ${baseUrl}${input.keyOnlyPath}`)}
${
  app.kind === 'service'
    ? snippet(
        'gs-curl-token',
        'curl — a token for the application itself (client credentials), then a call',
        `ACCESS_TOKEN=$(curl${cacert} -s -u "${app.clientId}:$STRONGROOM_CLIENT_SECRET" \\\n  -d grant_type=client_credentials -d scope='${app.scopes.join(' ')}' \\\n  ${baseUrl}/auth/oauth2/token | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')\ncurl${cacert} -H "API-Key: $STRONGROOM_API_KEY" -H "Authorization: Bearer $ACCESS_TOKEN" \\\n  ${baseUrl}${input.tokenPath}`,
      )
    : snippet(
        'gs-curl-token',
        'curl — with a user’s access token (get one with the CLI or the SDK below)',
        `curl${cacert} -H "API-Key: $STRONGROOM_API_KEY" -H "Authorization: Bearer $ACCESS_TOKEN" \\\n  ${baseUrl}${input.tokenPath}`,
      )
}
</section>
${app.kind === 'service' ? '' : cliSection(input, redirectUri, cacert)}
<section class="card" aria-labelledby="gs-sdk">
<h2 id="gs-sdk">${app.kind === 'service' ? '3' : '4'}. TypeScript SDK</h2>
<p><code>npm install @strongroom/client</code>, then:</p>
${snippet('gs-sdk-code', 'TypeScript', sdkCode(input, redirectUri, scopes))}
</section>
<section class="card" aria-labelledby="gs-reference">
<h2 id="gs-reference">Try operations in the browser</h2>
<p>The <a href="/portal/apis/${input.referenceApi}?app=${app.id}">API reference</a> signs in with this application's client id ("Authorize", PKCE)${
    app.redirectUris.includes(input.referenceRedirect)
      ? ''
      : html` once <code>${input.referenceRedirect}</code> is one of its redirect URIs (sandbox applications get it automatically)`
  }. Download the API documents or a Postman collection there too.</p>
</section>`;
}

function cliSection(input: GettingStartedInput, redirectUri: string, cacert: string): SafeHtml {
  const { app, baseUrl } = input;
  const ca = cacert ? ` \\\n  --ca '${input.caFile}'` : '';
  if (app.kind !== 'native')
    return html`<section class="card" aria-labelledby="gs-cli">
<h2 id="gs-cli">3. The command line</h2>
<p>The <code>strongroom</code> CLI signs users in as a native application (a loopback redirect, no client secret). Register a <em>native</em> application with the redirect URI <code>http://127.0.0.1/callback</code> to use it; its getting-started page then shows the commands.</p>
</section>`;
  return html`<section class="card" aria-labelledby="gs-cli">
<h2 id="gs-cli">3. The command line</h2>
${snippet(
  'gs-cli-code',
  'shell',
  `npx strongroom login --base-url ${baseUrl} \\\n  --client-id ${app.clientId} \\\n  --redirect-uri ${redirectUri}${ca}\nnpx strongroom call GET ${input.tokenPath}\nnpx strongroom logout`,
)}
<p class="small muted"><code>login</code> takes the key from <code>STRONGROOM_API_KEY</code>, prints the sign-in address and waits for the redirect; the tokens stay in <code>~/.config/strongroom/profiles.json</code> (mode 0600) and are refreshed before they expire.</p>
</section>`;
}

function sdkCode(input: GettingStartedInput, redirectUri: string, scopes: string): string {
  const { app, baseUrl } = input;
  const ca = input.caFile ? `\n  ca: readFileSync('${input.caFile}', 'utf8'),` : '';
  const head = `import { createClient } from '@strongroom/client';${input.caFile ? "\nimport { readFileSync } from 'node:fs';" : ''}`;
  if (app.kind === 'native')
    return `${head}

const client = createClient({
  baseUrl: '${baseUrl}',
  apiKey: process.env.STRONGROOM_API_KEY!,
  clientId: '${app.clientId}',
  redirectUri: '${redirectUri}',${ca}
});
await client.login({ onAuthorizationUrl: (url) => console.log(\`Sign in: \${url}\`) });
const { data } = await client.GET('${input.tokenPath}');
console.log(data);`;
  if (app.kind === 'service')
    return `${head}

const client = createClient({
  baseUrl: '${baseUrl}',
  apiKey: process.env.STRONGROOM_API_KEY!,
  clientId: '${app.clientId}',
  clientSecret: process.env.STRONGROOM_CLIENT_SECRET,
  redirectUri: '${redirectUri}',${ca}
});
// API-key-only operations need no sign-in:
console.log(await client.call('GET', '${input.keyOnlyPath}'));`;
  return `${head}

const client = createClient({
  baseUrl: '${baseUrl}',
  apiKey: process.env.STRONGROOM_API_KEY!,
  clientId: '${app.clientId}',${app.kind === 'web' ? '\n  clientSecret: process.env.STRONGROOM_CLIENT_SECRET,' : ''}
  redirectUri: '${redirectUri}',${ca}
  scope: '${scopes}',
});
// 1. Send the user to sign in:
const signInUrl = await client.authorizationUrl();
// 2. On your redirect URI, finish the sign-in with the URL the user came back to:
await client.handleCallback(callbackUrl);
// 3. Call the APIs; the token is refreshed before it expires.
const { data } = await client.GET('${input.tokenPath}');`;
}
