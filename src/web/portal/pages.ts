import { html, raw, type SafeHtml } from '../html.ts';

/**
 * Developer portal pages: server-rendered, no inline scripts or styles (CSP). Every form posts with a CSRF
 * token and works without JavaScript; `/static/portal.js` only adds copy buttons. Charts are inline SVG
 * drawn with presentation attributes (no style attributes).
 */

export interface PortalFrame {
  institutionName: string;
  title: string;
  user?: { username: string; institution: boolean };
  csrf?: string;
  /** Extra scripts/styles for this page (e.g. the API reference renderer). */
  head?: SafeHtml;
  scripts?: string[];
}

export function portalLayout(frame: PortalFrame, body: SafeHtml): string {
  const nav = frame.user
    ? html`<nav class="site-nav" aria-label="Portal">
<ul>
<li><a href="/portal">Dashboard</a></li>
<li><a href="/portal/apis">API reference</a></li>
<li><span class="muted">Signed in as <strong>${frame.user.username}</strong>${frame.user.institution ? ' (institution administrator)' : ''}</span></li>
<li><form method="post" action="/portal/logout" class="inline-form"><input type="hidden" name="csrf" value="${frame.csrf ?? ''}"><button type="submit" class="button-link">Sign out</button></form></li>
</ul>
</nav>`
    : html`<nav class="site-nav" aria-label="Portal"><ul><li><a href="/portal/apis">API reference</a></li></ul></nav>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} — ${frame.institutionName} developer portal</title>
<link rel="stylesheet" href="/static/strongroom.css">
<link rel="stylesheet" href="/static/portal.css">
${frame.head ?? ''}
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header"><div class="container"><a class="brand" href="/portal">${frame.institutionName} · Developers</a>${nav}</div></header>
<main id="main" class="container">
${body}
</main>
<footer class="site-footer"><div class="container">Secured by Strongroom</div></footer>
<script src="/static/portal.js" defer></script>
${(frame.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
</body>
</html>`.toString();
}

export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${csrf}">`;
}

export function badge(state: string): SafeHtml {
  return html`<span class="badge badge-${state}">${state}</span>`;
}

/** A secret shown exactly once, with a copy button (progressive enhancement). */
export function secretBox(label: string, value: string, id: string): SafeHtml {
  return html`<div class="field">
<label for="${id}">${label}</label>
<div class="secret-row"><code class="secret" id="${id}">${value}</code>
<button type="button" class="button-secondary copy-button" data-copy-target="${id}" hidden>Copy</button></div>
</div>`;
}

export function landingPage(input: { registerUrl: string }): SafeHtml {
  return html`<section class="hero card">
<h1>Build on our banking APIs</h1>
<p>Register an application, get its API key, client id and client secret, and call the institution's APIs with your users' consent.</p>
<div class="actions">
<a class="button" href="/portal/login">Sign in</a>
<a class="button button-secondary" href="${input.registerUrl}">Create a developer account</a>
</div>
</section>
<section class="card">
<h2>How it works</h2>
<ol>
<li>Create a developer account and sign in.</li>
<li>Create an organization for your company and invite your colleagues.</li>
<li>Register an application and choose the APIs it calls. You see its API key and client secret once: store them safely.</li>
<li>Read the <a href="/portal/apis">API reference</a> and start calling the sandbox.</li>
</ol>
</section>`;
}

export interface OrgSummary {
  id: string;
  name: string;
  role: string;
  applications: { id: string; name: string; state: string; environment: string }[];
}

export function dashboardPage(input: {
  csrf: string;
  organizations: OrgSummary[];
  pendingKeys: {
    id: string;
    prefix: string;
    last4: string;
    applicationId: string;
    applicationName: string;
  }[];
  institution: boolean;
  error?: string;
}): SafeHtml {
  return html`<h1>Dashboard</h1>
${input.error ? html`<div class="error" role="alert">${input.error}</div>` : ''}
${
  input.institution
    ? html`<section class="card" aria-labelledby="approvals">
<h2 id="approvals">Keys awaiting approval</h2>
${
  input.pendingKeys.length === 0
    ? html`<p class="muted">No key is waiting.</p>`
    : html`<div class="table-wrap"><table><thead><tr><th scope="col">Key</th><th scope="col">Application</th><th scope="col">Action</th></tr></thead><tbody>
${input.pendingKeys.map(
  (
    k,
  ) => html`<tr><td><code>${k.prefix}…${k.last4}</code></td><td><a href="/portal/applications/${k.applicationId}">${k.applicationName}</a></td>
<td><form method="post" action="/portal/keys/${k.id}/activate">${csrfField(input.csrf)}<button type="submit">Approve</button></form></td></tr>`,
)}
</tbody></table></div>`
}
</section>`
    : ''
}
<section class="card" aria-labelledby="orgs">
<h2 id="orgs">Your organizations</h2>
${
  input.organizations.length === 0
    ? html`<p>You are not a member of any organization yet. Create one below, or ask a colleague for an invitation link.</p>`
    : input.organizations.map(
        (org) => html`<article class="org">
<h3><a href="/portal/organizations/${org.id}">${org.name}</a> <span class="muted small">(${org.role})</span></h3>
${
  org.applications.length === 0
    ? html`<p class="muted">No applications yet.</p>`
    : html`<ul class="app-list">${org.applications.map(
        (app) =>
          html`<li><a href="/portal/applications/${app.id}">${app.name}</a> ${badge(app.state)} <span class="muted small">${app.environment}</span></li>`,
      )}</ul>`
}
</article>`,
      )
}
</section>
<section class="card" aria-labelledby="new-org">
<h2 id="new-org">Create an organization</h2>
<form method="post" action="/portal/organizations">
${csrfField(input.csrf)}
<div class="field"><label for="org-name">Organization name</label>
<input id="org-name" name="name" type="text" required maxlength="200" autocomplete="organization"></div>
<button type="submit">Create organization</button>
</form>
</section>`;
}

export interface ApiChoice {
  name: string;
  title: string;
}

export function organizationPage(input: {
  csrf: string;
  org: { id: string; name: string };
  role: string;
  canManage: boolean;
  members: { displayName: string; role: string; createdAt: string }[];
  invitations: { role: string; expires_at: string }[];
  invitationLink?: string;
  applications: { id: string; name: string; kind: string; state: string; environment: string }[];
  apis: ApiChoice[];
  error?: string;
}): SafeHtml {
  return html`<p class="small"><a href="/portal">← Dashboard</a></p>
<h1>${input.org.name}</h1>
${input.error ? html`<div class="error" role="alert">${input.error}</div>` : ''}
<section class="card" aria-labelledby="apps">
<h2 id="apps">Applications</h2>
${
  input.applications.length === 0
    ? html`<p class="muted">No applications yet.</p>`
    : html`<div class="table-wrap"><table><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Environment</th><th scope="col">State</th></tr></thead><tbody>
${input.applications.map(
  (a) =>
    html`<tr><td><a href="/portal/applications/${a.id}">${a.name}</a></td><td>${a.kind}</td><td>${a.environment}</td><td>${badge(a.state)}</td></tr>`,
)}
</tbody></table></div>`
}
</section>
<section class="card" aria-labelledby="register">
<h2 id="register">Register an application</h2>
<form method="post" action="/portal/organizations/${input.org.id}/applications" class="stack">
${csrfField(input.csrf)}
<div class="field"><label for="app-name">Name</label>
<input id="app-name" name="name" type="text" required maxlength="100">
<p class="hint">Shown to users on the consent page.</p></div>
<div class="field"><label for="app-description">Description</label>
<input id="app-description" name="description" type="text" maxlength="1000"></div>
<div class="field"><label for="app-kind">Kind</label>
<select id="app-kind" name="kind">
<option value="web">Web application with a server (confidential: gets a client secret)</option>
<option value="spa">Single-page application (public, in the browser)</option>
<option value="native">Native or mobile application (public)</option>
<option value="service">Back-office service (client credentials)</option>
</select></div>
<div class="field"><label for="app-redirects">Redirect URIs</label>
<textarea id="app-redirects" name="redirectUris" rows="2" aria-describedby="app-redirects-hint"></textarea>
<p class="hint" id="app-redirects-hint">One per line, exact (https; native apps may use http://127.0.0.1:port/…). Not needed for services.</p></div>
<div class="field"><label for="app-origins">Allowed browser origins (CORS)</label>
<textarea id="app-origins" name="corsOrigins" rows="2" aria-describedby="app-origins-hint"></textarea>
<p class="hint" id="app-origins-hint">Single-page applications only, one origin per line, e.g. https://app.example.</p></div>
<fieldset><legend>APIs this application calls</legend>
${input.apis.map(
  (api) =>
    html`<div class="checkbox"><input type="checkbox" id="api-${api.name}" name="apis" value="${api.name}" checked><label for="api-${api.name}">${api.title} <span class="muted small">(/${api.name})</span></label></div>`,
)}
</fieldset>
<p class="muted small">New applications start in the sandbox. Production access and extra scopes are granted by the institution.</p>
<button type="submit">Register application</button>
</form>
</section>
<section class="card" aria-labelledby="members">
<h2 id="members">Members</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Since</th></tr></thead><tbody>
${input.members.map((m) => html`<tr><td>${m.displayName}</td><td>${m.role}</td><td>${m.createdAt.slice(0, 10)}</td></tr>`)}
</tbody></table></div>
${
  input.canManage
    ? html`${
        input.invitationLink
          ? html`<div class="notice" role="status"><p>Invitation link (valid for 7 days, single use; shown once):</p>${secretBox('Invitation link', input.invitationLink, 'invitation-link')}</div>`
          : ''
      }
<form method="post" action="/portal/organizations/${input.org.id}/invitations" class="row">
${csrfField(input.csrf)}
<div class="field"><label for="invite-role">Invite a member as</label>
<select id="invite-role" name="role"><option value="developer">developer</option><option value="admin">admin</option><option value="owner">owner</option></select></div>
<button type="submit" class="button-secondary">Create invitation link</button>
</form>
${input.invitations.length > 0 ? html`<p class="muted small">${input.invitations.length} open invitation(s).</p>` : ''}`
    : ''
}
</section>`;
}

export interface KeyRow {
  id: string;
  label: string;
  prefix: string;
  last4: string;
  state: string;
  stateReason: string | null;
  createdAt: string;
  expiresAt: string | null;
}

export interface FreshSecrets {
  clientSecret?: string;
  apiKey?: { id: string; key: string };
  note?: string;
}

export function applicationPage(input: {
  csrf: string;
  app: {
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
  };
  keys: KeyRow[];
  fresh?: FreshSecrets;
  canManage: boolean;
  institution: boolean;
  charts: SafeHtml;
  apiChoices: ApiChoice[];
  allScopes: readonly string[];
  defaultScopes: readonly string[];
  ratePlans: string[];
  error?: string;
}): SafeHtml {
  const { app } = input;
  const live = (k: KeyRow) => k.state === 'active' || k.state === 'pending';
  return html`<p class="small"><a href="/portal/organizations/${app.organizationId}">← Organization</a></p>
<h1>${app.name} ${badge(app.state)}</h1>
${input.error ? html`<div class="error" role="alert">${input.error}</div>` : ''}
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
<div class="table-wrap"><table><caption class="visually-hidden">API keys of ${app.name}</caption>
<thead><tr><th scope="col">Key</th><th scope="col">Label</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead><tbody>
${input.keys.map(
  (k) => html`<tr id="key-${k.id}">
<td><code>${k.prefix}…${k.last4}</code></td><td>${k.label}</td>
<td>${badge(k.state)}${k.stateReason ? html`<br><span class="small muted">${k.stateReason}</span>` : ''}</td>
<td>${k.createdAt.slice(0, 16).replace('T', ' ')}</td><td>${k.expiresAt ? k.expiresAt.slice(0, 16).replace('T', ' ') : '—'}</td>
<td class="key-actions">${
    live(k)
      ? html`<form method="post" action="/portal/keys/${k.id}/rotate" class="row">${csrfField(input.csrf)}
<label class="visually-hidden" for="overlap-${k.id}">Overlap for ${k.prefix}…${k.last4}</label>${overlapSelect(`overlap-${k.id}`)}
<button type="submit" class="button-secondary">Rotate</button></form>
<form method="post" action="/portal/keys/${k.id}/revoke">${csrfField(input.csrf)}<button type="submit" class="button-danger" aria-label="Revoke key ${k.prefix}…${k.last4}">Revoke</button></form>`
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
<button type="submit">Issue a new key</button>
</form>`
    : ''
}
</section>
<section class="card" aria-labelledby="usage">
<h2 id="usage">Usage (last 14 days)</h2>
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

function settingsForm(input: {
  csrf: string;
  app: {
    id: string;
    name: string;
    description: string;
    kind: string;
    redirectUris: string[];
    corsOrigins: string[];
    apis: string[];
    scopes: string[];
    requestedScopes: string[];
  };
  apiChoices: ApiChoice[];
  allScopes: readonly string[];
  defaultScopes: readonly string[];
}): SafeHtml {
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

function institutionForm(input: {
  csrf: string;
  app: { id: string; environment: string; ratePlan: string; state: string };
  ratePlans: string[];
}): SafeHtml {
  const { app } = input;
  const option = (value: string, current: string) =>
    html`<option value="${value}"${value === current ? raw(' selected') : ''}>${value}</option>`;
  return html`<section class="card" aria-labelledby="institution">
<h2 id="institution">Institution controls</h2>
<form method="post" action="/portal/applications/${app.id}/institution" class="stack">
${csrfField(input.csrf)}
<div class="field"><label for="inst-state">State</label><select id="inst-state" name="state">${['pending', 'active', 'suspended'].map((v) => option(v, app.state))}</select></div>
<div class="field"><label for="inst-reason">Reason (recorded in the audit log)</label><input id="inst-reason" name="stateReason" type="text" maxlength="1000"></div>
<div class="field"><label for="inst-env">Environment</label><select id="inst-env" name="environment">${['sandbox', 'production'].map((v) => option(v, app.environment))}</select></div>
<div class="field"><label for="inst-plan">Rate plan</label><select id="inst-plan" name="ratePlan">${input.ratePlans.map((v) => option(v, app.ratePlan))}</select></div>
<button type="submit">Apply</button>
</form>
</section>`;
}

function overlapSelect(id: string): SafeHtml {
  return html`<select id="${id}" name="overlapSeconds">
<option value="86400">24 hours</option><option value="3600">1 hour</option><option value="604800">7 days</option><option value="0">no overlap (stop now)</option>
</select>`;
}

// ---- charts ------------------------------------------------------------------------------------

export interface Series {
  label: string;
  value: number;
}

/** An accessible bar chart: SVG with a title and description, plus the same data as a table. */
export function barChart(input: {
  id: string;
  title: string;
  series: Series[];
  unit: string;
  tone?: string;
}): SafeHtml {
  const width = 640;
  const height = 180;
  const pad = { top: 10, bottom: 30, left: 40, right: 10 };
  const max = Math.max(1, ...input.series.map((s) => s.value));
  const n = Math.max(1, input.series.length);
  const slot = (width - pad.left - pad.right) / n;
  const barWidth = Math.max(2, slot * 0.7);
  const plotHeight = height - pad.top - pad.bottom;
  const bars = input.series.map((s, i) => {
    const h = Math.round((s.value / max) * plotHeight);
    const x = Math.round(pad.left + i * slot + (slot - barWidth) / 2);
    const y = pad.top + plotHeight - h;
    const showLabel = n <= 16 || i % Math.ceil(n / 8) === 0;
    return html`<rect class="bar ${input.tone ?? ''}" x="${x}" y="${y}" width="${Math.round(barWidth)}" height="${h}"><title>${s.label}: ${s.value} ${input.unit}</title></rect>${
      showLabel
        ? html`<text class="axis-label" x="${Math.round(x + barWidth / 2)}" y="${height - 10}" text-anchor="middle">${s.label}</text>`
        : ''
    }`;
  });
  const total = input.series.reduce((sum, s) => sum + s.value, 0);
  return html`<figure class="chart">
<figcaption><strong>${input.title}</strong> <span class="muted small">(total ${total})</span></figcaption>
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${input.id}-title ${input.id}-desc" preserveAspectRatio="xMidYMid meet">
<title id="${input.id}-title">${input.title}</title>
<desc id="${input.id}-desc">${input.series.map((s) => `${s.label}: ${s.value}`).join(', ') || 'no data'}</desc>
<line class="axis" x1="${pad.left}" y1="${pad.top + plotHeight}" x2="${width - pad.right}" y2="${pad.top + plotHeight}"></line>
<text class="axis-label" x="${pad.left - 6}" y="${pad.top + 10}" text-anchor="end">${max}</text>
<text class="axis-label" x="${pad.left - 6}" y="${pad.top + plotHeight}" text-anchor="end">0</text>
${bars}
</svg>
</figure>`;
}

export function usageCharts(input: {
  perDay: Series[];
  errorsByStatus: Series[];
  rateLimitedPerDay: Series[];
}): SafeHtml {
  return html`<div class="charts">
${barChart({ id: 'calls-per-day', title: 'Calls per day', series: input.perDay, unit: 'calls' })}
${
  input.errorsByStatus.length
    ? barChart({
        id: 'errors-by-status',
        title: 'Errors by status',
        series: input.errorsByStatus,
        unit: 'answers',
        tone: 'bar-error',
      })
    : html`<p class="muted">No errors in this period.</p>`
}
${barChart({ id: 'rate-limited', title: 'Rate-limited calls (429) per day', series: input.rateLimitedPerDay, unit: 'calls', tone: 'bar-warning' })}
</div>`;
}

// ---- API reference -----------------------------------------------------------------------------

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

export function invitationPage(input: { csrf: string; token: string }): SafeHtml {
  return html`<section class="card">
<h1>Join an organization</h1>
<p>You have been invited to join an organization on the developer portal.</p>
<form method="post" action="/portal/invitations/${input.token}">${csrfField(input.csrf)}<button type="submit">Accept the invitation</button></form>
</section>`;
}

export function errorPage(input: { status: number; title: string; detail: string }): SafeHtml {
  return html`<section class="card"><h1>${input.title}</h1><p>${input.detail}</p><p><a href="/portal">Back to the dashboard</a></p></section>`;
}

export { raw };
