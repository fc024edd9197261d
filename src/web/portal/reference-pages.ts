import { html, type SafeHtml } from '../html.ts';

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

export function apiReferencePage(input: { name: string; title: string }): SafeHtml {
  return html`<p class="small"><a href="/portal/apis">← All APIs</a></p>
<h1>${input.title}</h1>
<p><a href="/portal/apis/${input.name}/openapi.json">Download the OpenAPI document</a></p>
<div id="api-reference" data-spec-url="/portal/apis/${input.name}/openapi.json"><p class="muted">Loading the interactive reference…</p><noscript>The interactive reference needs JavaScript; download the OpenAPI document above instead.</noscript></div>`;
}
