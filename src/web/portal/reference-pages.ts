import { html, raw, type SafeHtml } from '../html.ts';

/** The API reference: the list of APIs and one API's interactive reference (Swagger UI, from /static). */

export function apisPage(input: { apis: { name: string; title: string; summary: string }[] }): SafeHtml {
  return html`<h1>API reference</h1>
<p>Every API needs your application's API key in the <code>API-Key</code> header; most also need a user's access token with the scopes listed on each operation.</p>
<div class="api-grid">
${input.apis.map(
  (api) =>
    html`<article class="card"><h2><a href="/portal/apis/${api.name}">${api.title}</a></h2><p>${api.summary}</p><p class="small muted"><code>/${api.name}/</code></p></article>`,
)}
</div>`;
}

/** An application the reference may sign in with ("Authorize"). */
export interface TryItApp {
  id: string;
  name: string;
  clientId: string;
  confidential: boolean;
  scopes: string[];
  hasRedirect: boolean;
}

export function apiReferencePage(input: {
  name: string;
  title: string;
  redirectUrl: string;
  apps: TryItApp[];
  chosen?: TryItApp;
}): SafeHtml {
  const { chosen } = input;
  const base = `/portal/apis/${input.name}`;
  return html`<p class="small"><a href="/portal/apis">← All APIs</a></p>
<h1>${input.title}</h1>
<p class="downloads">Download: <a href="${base}/openapi.yaml" download>OpenAPI (YAML)</a> · <a href="${base}/openapi.json" download>OpenAPI (JSON)</a> · <a href="${base}/postman.json" download>Postman collection (v2.1)</a></p>
${tryItHelp(input)}
<div id="api-reference" data-spec-url="${base}/openapi.json" data-redirect-url="${input.redirectUrl}"${
    chosen
      ? html` data-client-id="${chosen.clientId}" data-confidential="${String(chosen.confidential)}" data-scopes="${chosen.scopes.join(' ')}"`
      : ''
  }><p class="muted">Loading the interactive reference…</p><noscript>The interactive reference needs JavaScript; download the OpenAPI document above instead.</noscript></div>`;
}

function tryItHelp(input: { name: string; apps: TryItApp[]; chosen?: TryItApp }): SafeHtml {
  const { chosen } = input;
  if (!chosen)
    return html`<div class="notice"><p>To try operations here, <a href="/portal">sign in</a> and register an application: "Authorize" then signs in with its client id.</p></div>`;
  return html`<section class="card try-it" aria-labelledby="try-it">
<h2 id="try-it">Try it with your application</h2>
${
  input.apps.length > 1
    ? html`<form method="get" action="/portal/apis/${input.name}" class="row">
<div class="field"><label for="try-app">Application</label><select id="try-app" name="app">${input.apps.map(
        (app) =>
          html`<option value="${app.id}"${app.id === chosen.id ? raw(' selected') : ''}>${app.name}</option>`,
      )}</select></div>
<button type="submit" class="button-secondary">Use this application</button></form>`
    : html`<p>Application: <strong>${chosen.name}</strong></p>`
}
<ol class="small">
<li>Press <strong>Authorize</strong>, paste your API key under <code>apiKey</code>${chosen.confidential ? ' and your client secret under accessToken' : ''}, then authorize <code>accessToken</code>: the client id <code>${chosen.clientId}</code> is filled in and the sign-in uses PKCE.</li>
<li>Sign in as a test user in the window that opens; it closes by itself.</li>
<li>Open an operation, press <strong>Try it out</strong>, then <strong>Execute</strong>.</li>
</ol>
${
  chosen.hasRedirect
    ? ''
    : html`<p class="warning">This application does not list <code>/portal/oauth2-redirect</code> among its redirect URIs (only sandbox applications get it automatically), so "Authorize" will be refused.</p>`
}
</section>`;
}

/**
 * The page Swagger UI's "Authorize" window comes back to: Swagger UI's own script reads the code and
 * state and hands them to the reference page that opened it (no inline script: CSP).
 */
export function oauth2RedirectPage(): string {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Completing the sign-in</title></head>
<body>
<p>Completing the sign-in… This window closes by itself. If it stays open, close it and go back to the API reference.</p>
<script src="/static/portal/swagger-ui/oauth2-redirect.js"></script>
</body>
</html>`.toString();
}
