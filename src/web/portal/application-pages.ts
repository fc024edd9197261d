import { html, raw, type SafeHtml } from '../html.ts';
import { badge, csrfField, secretBox } from './layout.ts';
import type { ApiChoice } from './organization-pages.ts';

/** The application page: details, keys, usage, settings, institution controls, deletion. */

export interface KeyRow {
  id: string;
  label: string;
  prefix: string;
  last4: string;
  state: string;
  stateReason: string | null;
  createdAt: string;
  expiresAt: string | null;
  /** Live and expiring within the warning period. */
  expiresSoon?: boolean;
  /** When the key was last used (RFC 3339, minute precision); null: never. */
  lastUsedAt?: string | null;
}

export interface FreshSecrets {
  clientSecret?: string;
  apiKey?: { id: string; key: string };
  note?: string;
}

/** An application as the portal shows it. */
export interface PortalApp {
  id: string;
  name: string;
  description: string;
  kind: string;
  clientId: string;
  organizationId: string;
  redirectUris: string[];
  corsOrigins: string[];
  scopes: string[];
  requestedScopes: string[];
  apis: string[];
  ratePlan: string;
  environment: string;
  state: string;
  stateReason: string | null;
  tokenEndpointAuthMethod: string;
}

export interface ApplicationPageInput {
  csrf: string;
  app: PortalApp;
  keys: KeyRow[];
  fresh?: FreshSecrets;
  /** What the last action did, e.g. a key revoked. */
  notice?: string;
  canManage: boolean;
  institution: boolean;
  charts: SafeHtml;
  /** The period (and key) the charts show: `YYYY-MM-DD` days, both included. */
  usageRange?: { from: string; to: string; key?: string };
  apiChoices: ApiChoice[];
  allScopes: readonly string[];
  defaultScopes: readonly string[];
  ratePlans: string[];
  /** The states and environments the institution may choose (the domain model's lists). */
  states: readonly string[];
  environments: readonly string[];
  error?: string;
}

export function applicationPage(input: ApplicationPageInput): SafeHtml {
  const { app } = input;
  const live = (k: KeyRow) => k.state === 'active' || k.state === 'pending';
  return html`<p class="small"><a href="/portal/organizations/${app.organizationId}">← Organization</a></p>
<h1>${app.name} ${badge(app.state)}</h1>
${app.state !== 'deleted' ? html`<p class="app-links"><a class="button" href="/portal/applications/${app.id}/getting-started">Getting started</a> <a class="button button-secondary" href="/portal/apis/${referenceApiOf(app.apis)}?app=${app.id}">Try it in the API reference</a></p>` : ''}
${input.error ? html`<div class="error" role="alert">${input.error}</div>` : ''}
${input.notice ? html`<div class="notice" role="status">${input.notice}</div>` : ''}
${
  input.fresh
    ? html`<section class="card fresh-secrets" aria-labelledby="fresh">
<h2 id="fresh">Your new credentials</h2>
<div class="warning" role="alert">Copy these now. They are shown only once and cannot be recovered; if you lose them, rotate.</div>
${input.fresh.note ? html`<p>${input.fresh.note}</p>` : ''}
${input.fresh.apiKey ? secretBox('API key', input.fresh.apiKey.key, 'fresh-api-key') : ''}
${secretBox('Client id', app.clientId, 'fresh-client-id')}
${input.fresh.clientSecret ? secretBox('Client secret', input.fresh.clientSecret, 'fresh-client-secret') : ''}
</section>`
    : ''
}
<section class="card" aria-labelledby="details">
<h2 id="details">Details</h2>
<dl class="details">
<dt>Client id</dt><dd><code>${app.clientId}</code></dd>
<dt>Kind</dt><dd>${app.kind} (token endpoint: ${app.tokenEndpointAuthMethod})</dd>
<dt>Environment</dt><dd>${app.environment}</dd>
<dt>Rate plan</dt><dd>${app.ratePlan}</dd>
<dt>Redirect URIs</dt><dd>${app.redirectUris.length ? app.redirectUris.map((u) => html`<code>${u}</code><br>`) : '—'}</dd>
<dt>CORS origins</dt><dd>${app.corsOrigins.length ? app.corsOrigins.join(', ') : '—'}</dd>
<dt>Scopes</dt><dd>${app.scopes.join(' ') || '—'}</dd>
${app.requestedScopes.length ? html`<dt>Requested scopes</dt><dd>${app.requestedScopes.join(' ')} <span class="muted">(awaiting the institution)</span></dd>` : ''}
<dt>APIs</dt><dd>${app.apis.join(', ')}</dd>
${app.stateReason ? html`<dt>State reason</dt><dd>${app.stateReason}</dd>` : ''}
</dl>
${
  app.tokenEndpointAuthMethod !== 'none' && app.state !== 'deleted'
    ? html`<form method="post" action="/portal/applications/${app.id}/secret" class="row">
${csrfField(input.csrf)}
<div class="field"><label for="secret-overlap">Keep the old secret valid for</label>
${overlapSelect('secret-overlap')}</div>
<button type="submit" class="button-secondary">Rotate client secret</button>
</form>`
    : ''
}
</section>
<section class="card" aria-labelledby="keys">
<h2 id="keys">API keys</h2>
<div class="table-wrap"><table class="keys-table"><caption class="visually-hidden">API keys of ${app.name}</caption>
<thead><tr><th scope="col">Key</th><th scope="col">Label</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead><tbody>
${input.keys.map(
  (k) => html`<tr id="key-${k.id}">
<td data-label="Key"><code>${k.prefix}…${k.last4}</code></td><td data-label="Label">${k.label}</td>
<td data-label="State">${badge(k.state)}${k.stateReason ? html`<br><span class="small muted">${k.stateReason}</span>` : ''}</td>
<td data-label="Created">${k.createdAt.slice(0, 16).replace('T', ' ')}</td><td data-label="Last used">${k.lastUsedAt ? k.lastUsedAt.slice(0, 16).replace('T', ' ') : 'never'}</td><td data-label="Expires">${k.expiresAt ? k.expiresAt.slice(0, 16).replace('T', ' ') : '—'}${k.expiresSoon ? html`<br><span class="badge badge-expiring">expires soon: rotate it</span>` : ''}</td>
<td class="key-actions">${
    live(k)
      ? html`<form method="post" action="/portal/keys/${k.id}/rotate" class="row">${csrfField(input.csrf)}
<label class="visually-hidden" for="overlap-${k.id}">Overlap for ${k.prefix}…${k.last4}</label>${overlapSelect(`overlap-${k.id}`)}
<button type="submit" class="button-secondary">Rotate</button></form>
<a class="button button-danger" href="/portal/keys/${k.id}/revoke" aria-label="Revoke key ${k.prefix}…${k.last4}">Revoke</a>`
      : ''
  }${
    input.institution && (k.state === 'pending' || k.state === 'suspended')
      ? html`<form method="post" action="/portal/keys/${k.id}/activate">${csrfField(input.csrf)}<button type="submit">${k.state === 'pending' ? 'Approve' : 'Reinstate'}</button></form>`
      : ''
  }</td>
</tr>`,
)}
</tbody></table></div>
${
  app.state !== 'deleted'
    ? html`<form method="post" action="/portal/applications/${app.id}/keys" class="row">
${csrfField(input.csrf)}
<div class="field"><label for="key-label">Label for a new key</label><input id="key-label" name="label" type="text" maxlength="100"></div>
<div class="field"><label for="key-expires">Expires on (optional)</label><input id="key-expires" name="expiresOn" type="date"></div>
<button type="submit">Issue a new key</button>
</form>`
    : ''
}
</section>
<section class="card" aria-labelledby="usage">
<h2 id="usage">Usage</h2>
${usageRangeForm(input)}
${input.charts}
</section>
${app.state !== 'deleted' ? settingsForm(input) : ''}
${app.state !== 'deleted' && input.institution ? institutionForm(input) : ''}
${
  input.canManage && app.state !== 'deleted'
    ? html`<section class="card danger-zone" aria-labelledby="danger">
<h2 id="danger">Delete this application</h2>
<p>Deleting revokes every key, removes the OAuth client and revokes the grants of its users. It cannot be undone.</p>
<form method="post" action="/portal/applications/${app.id}/delete">${csrfField(input.csrf)}
<div class="checkbox"><input type="checkbox" id="confirm-delete" name="confirm" value="yes" required><label for="confirm-delete">I understand</label></div>
<button type="submit" class="button-danger">Delete application</button></form>
</section>`
    : ''
}`;
}

function settingsForm(input: ApplicationPageInput): SafeHtml {
  const { app } = input;
  const all = app.apis.includes('*');
  return html`<section class="card" aria-labelledby="settings">
<h2 id="settings">Settings</h2>
<form method="post" action="/portal/applications/${app.id}/settings" class="stack">
${csrfField(input.csrf)}
<div class="field"><label for="edit-name">Name</label><input id="edit-name" name="name" type="text" required maxlength="100" value="${app.name}"></div>
<div class="field"><label for="edit-description">Description</label><input id="edit-description" name="description" type="text" maxlength="1000" value="${app.description}"></div>
${
  app.kind !== 'service'
    ? html`<div class="field"><label for="edit-redirects">Redirect URIs (one per line)</label><textarea id="edit-redirects" name="redirectUris" rows="3">${app.redirectUris.join('\n')}</textarea></div>`
    : ''
}
${
  app.kind === 'spa'
    ? html`<div class="field"><label for="edit-origins">Allowed browser origins (one per line)</label><textarea id="edit-origins" name="corsOrigins" rows="2">${app.corsOrigins.join('\n')}</textarea></div>`
    : ''
}
<fieldset><legend>APIs</legend>
${input.apiChoices.map(
  (api) =>
    html`<div class="checkbox"><input type="checkbox" id="edit-api-${api.name}" name="apis" value="${api.name}"${all || app.apis.includes(api.name) ? raw(' checked') : ''}><label for="edit-api-${api.name}">${api.title}</label></div>`,
)}
</fieldset>
<fieldset><legend>Scopes</legend>
<p class="hint">Scopes outside the default set are requested from the institution, which approves them.</p>
${input.allScopes.map(
  (scope) =>
    html`<div class="checkbox"><input type="checkbox" id="edit-scope-${scope.replace('/', '-')}" name="scopes" value="${scope}"${app.scopes.includes(scope) || app.requestedScopes.includes(scope) ? raw(' checked') : ''}><label for="edit-scope-${scope.replace('/', '-')}">${scope}${input.defaultScopes.includes(scope) ? '' : ' (needs approval)'}${app.requestedScopes.includes(scope) ? ' — requested' : ''}</label></div>`,
)}
</fieldset>
<button type="submit">Save settings</button>
</form>
</section>`;
}

function institutionForm(input: ApplicationPageInput): SafeHtml {
  const { app } = input;
  const option = (value: string, current: string) =>
    html`<option value="${value}"${value === current ? raw(' selected') : ''}>${value}</option>`;
  return html`<section class="card" aria-labelledby="institution">
<h2 id="institution">Institution controls</h2>
<form method="post" action="/portal/applications/${app.id}/institution" class="stack">
${csrfField(input.csrf)}
<div class="field"><label for="inst-state">State</label><select id="inst-state" name="state">${input.states.map((v) => option(v, app.state))}</select></div>
<div class="field"><label for="inst-reason">Reason (recorded in the audit log)</label><input id="inst-reason" name="stateReason" type="text" maxlength="1000"></div>
<div class="field"><label for="inst-env">Environment</label><select id="inst-env" name="environment">${input.environments.map((v) => option(v, app.environment))}</select></div>
<div class="field"><label for="inst-plan">Rate plan</label><select id="inst-plan" name="ratePlan">${input.ratePlans.map((v) => option(v, app.ratePlan))}</select></div>
<button type="submit">Apply</button>
</form>
</section>`;
}

/** The API the "Try it" link opens: the accounts API when the app may call it, else its first API. */
function referenceApiOf(apis: string[]): string {
  if (apis.includes('*') || apis.includes('accounts')) return 'accounts';
  return apis[0] ?? 'accounts';
}

function overlapSelect(id: string): SafeHtml {
  return html`<select id="${id}" name="overlapSeconds">
<option value="86400">24 hours</option><option value="3600">1 hour</option><option value="604800">7 days</option><option value="0">no overlap (stop now)</option>
</select>`;
}

/** The usage period and key (a GET form: the page's address keeps the choice). */
function usageRangeForm(input: ApplicationPageInput): SafeHtml {
  const range = input.usageRange;
  if (!range) return html``;
  return html`<form method="get" action="/portal/applications/${input.app.id}#usage" class="row usage-range">
<div class="field"><label for="usage-from">From</label><input id="usage-from" name="from" type="date" value="${range.from}" max="${range.to}"></div>
<div class="field"><label for="usage-to">To</label><input id="usage-to" name="to" type="date" value="${range.to}"></div>
<div class="field"><label for="usage-key">Key</label><select id="usage-key" name="key"><option value="">All keys</option>
${input.keys.map((k) => html`<option value="${k.id}"${k.id === range.key ? raw(' selected') : ''}>${k.prefix}…${k.last4}${k.label ? ` (${k.label})` : ''}</option>`)}
</select></div>
<button type="submit" class="button-secondary">Show</button>
</form>
<p class="muted small">${range.from} to ${range.to} (UTC days), ${range.key ? 'one key' : 'all keys'}; at most 92 days.</p>`;
}
