import { html, raw, type SafeHtml } from '../html.ts';
import { badge, csrfField, secretBox } from './layout.ts';

/** The portal's landing page, dashboard, organization and invitation pages. */

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

/** What a developer typed into the application form, shown again after a refusal. */
export interface ApplicationDraft {
  name: string;
  description: string;
  kind: string;
  redirectUris: string;
  corsOrigins: string;
  apis: string[];
}

/** One refused field (`redirectUris.0`, `name` …) and why. */
export interface FormError {
  name: string;
  message: string;
}

const FIELD_LABELS: Record<string, string> = {
  name: 'Name',
  description: 'Description',
  kind: 'Kind',
  redirectUris: 'Redirect URIs',
  corsOrigins: 'Allowed browser origins',
  apis: 'APIs',
};

/** "Redirect URIs, line 2: must use https …" for `redirectUris.1`. */
function describeError(error: FormError, draft: ApplicationDraft): string {
  const [field = '', index] = error.name.split('.');
  if (!FIELD_LABELS[field]) return error.message;
  const label = FIELD_LABELS[field] ?? field;
  if (index === undefined) return `${label}: ${error.message}`;
  const lines = (field === 'corsOrigins' ? draft.corsOrigins : draft.redirectUris)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  return `${label}, ${lines[Number(index)] ?? `line ${Number(index) + 1}`}: ${error.message}`;
}

const KINDS = [
  ['web', 'Web application with a server (confidential: gets a client secret)'],
  ['spa', 'Single-page application (public, in the browser)'],
  ['native', 'Native or mobile application (public)'],
  ['service', 'Back-office service (client credentials)'],
] as const;

export interface ApiChoice {
  name: string;
  title: string;
}

export function organizationPage(input: {
  csrf: string;
  org: { id: string; name: string };
  role: string;
  canManage: boolean;
  members: { userId: string; displayName: string; role: string; createdAt: string }[];
  /** The signed-in user's id (their own row says "you"). */
  self?: string;
  invitations: { id: string; role: string; expires_at: string }[];
  invitationLink?: string;
  applications: { id: string; name: string; kind: string; state: string; environment: string }[];
  apis: ApiChoice[];
  error?: string;
  draft?: ApplicationDraft;
  errors?: FormError[];
}): SafeHtml {
  const draft: ApplicationDraft = input.draft ?? {
    name: '',
    description: '',
    kind: 'web',
    redirectUris: '',
    corsOrigins: '',
    apis: [],
  };
  const invalid = (field: string) =>
    input.errors?.some((e) => e.name === field || e.name.startsWith(`${field}.`))
      ? raw(' aria-invalid="true" aria-describedby="register-errors"')
      : '';
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
${
  input.errors?.length && input.draft
    ? html`<div class="error" role="alert" id="register-errors"><p>The application was not registered. Please correct:</p><ul>${input.errors.map(
        (error) => html`<li>${describeError(error, input.draft as ApplicationDraft)}</li>`,
      )}</ul></div>`
    : ''
}
<form method="post" action="/portal/organizations/${input.org.id}/applications" class="stack">
${csrfField(input.csrf)}
<div class="field"><label for="app-name">Name</label>
<input id="app-name" name="name" type="text" required maxlength="100" value="${draft.name}"${invalid('name')}>
<p class="hint">Shown to users on the consent page.</p></div>
<div class="field"><label for="app-description">Description</label>
<input id="app-description" name="description" type="text" maxlength="1000" value="${draft.description}"></div>
<div class="field"><label for="app-kind">Kind</label>
<select id="app-kind" name="kind">
${KINDS.map(([value, label]) => html`<option value="${value}"${value === draft.kind ? raw(' selected') : ''}>${label}</option>`)}
</select></div>
<div class="field"><label for="app-redirects">Redirect URIs</label>
<textarea id="app-redirects" name="redirectUris" rows="2" aria-describedby="app-redirects-hint"${invalid('redirectUris')}>${draft.redirectUris}</textarea>
<p class="hint" id="app-redirects-hint">One per line, exact (https; native apps may use http://127.0.0.1:port/…). Not needed for services.</p></div>
<div class="field"><label for="app-origins">Allowed browser origins (CORS)</label>
<textarea id="app-origins" name="corsOrigins" rows="2" aria-describedby="app-origins-hint"${invalid('corsOrigins')}>${draft.corsOrigins}</textarea>
<p class="hint" id="app-origins-hint">Single-page applications only, one origin per line, e.g. https://app.example.</p></div>
<fieldset><legend>APIs this application calls</legend>
${input.apis.map(
  (api) =>
    html`<div class="checkbox"><input type="checkbox" id="api-${api.name}" name="apis" value="${api.name}"${input.draft && !draft.apis.includes(api.name) ? '' : raw(' checked')}><label for="api-${api.name}">${api.title} <span class="muted small">(/${api.name})</span></label></div>`,
)}
</fieldset>
<p class="muted small">New applications start in the sandbox. Production access and extra scopes are granted by the institution.</p>
<button type="submit">Register application</button>
</form>
</section>
<section class="card" aria-labelledby="members">
<h2 id="members">Members</h2>
${membersTable(input)}
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
${invitationsTable(input)}`
    : ''
}
</section>`;
}

const ROLES = ['developer', 'admin', 'owner'] as const;

/** Members; an owner or admin may change a role or remove a member (the service keeps the last owner). */
function membersTable(input: {
  csrf: string;
  org: { id: string };
  canManage: boolean;
  self?: string;
  members: { userId: string; displayName: string; role: string; createdAt: string }[];
}): SafeHtml {
  const base = `/portal/organizations/${input.org.id}/members`;
  return html`<div class="table-wrap"><table><thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Since</th>${input.canManage ? html`<th scope="col">Actions</th>` : ''}</tr></thead><tbody>
${input.members.map((m, i) => {
  const who =
    m.userId === input.self ? html`${m.displayName} <span class="muted small">(you)</span>` : m.displayName;
  if (!input.canManage)
    return html`<tr><td>${who}</td><td>${m.role}</td><td>${m.createdAt.slice(0, 10)}</td></tr>`;
  return html`<tr><td>${who}</td><td><form method="post" action="${base}/${m.userId}/role" class="row">${csrfField(input.csrf)}
<label class="visually-hidden" for="member-role-${i}">Role of ${m.displayName}</label>
<select id="member-role-${i}" name="role">${ROLES.map((role) => html`<option value="${role}"${role === m.role ? raw(' selected') : ''}>${role}</option>`)}</select>
<button type="submit" class="button-secondary">Change role</button></form></td><td>${m.createdAt.slice(0, 10)}</td>
<td><form method="post" action="${base}/${m.userId}/remove">${csrfField(input.csrf)}<button type="submit" class="button-danger" aria-label="Remove ${m.displayName}">Remove</button></form></td></tr>`;
})}
</tbody></table></div>`;
}

/** Open invitations, each with a revoke button (its link stops working at once). */
function invitationsTable(input: {
  csrf: string;
  org: { id: string };
  invitations: { id: string; role: string; expires_at: string }[];
}): SafeHtml {
  if (input.invitations.length === 0) return html``;
  return html`<h3>Open invitations</h3>
<div class="table-wrap"><table><thead><tr><th scope="col">Role</th><th scope="col">Expires (UTC)</th><th scope="col">Action</th></tr></thead><tbody>
${input.invitations.map(
  (inv) => html`<tr><td>${inv.role}</td><td>${inv.expires_at.slice(0, 16).replace('T', ' ')}</td>
<td><form method="post" action="/portal/organizations/${input.org.id}/invitations/${inv.id}/revoke">${csrfField(input.csrf)}<button type="submit" class="button-secondary">Revoke invitation</button></form></td></tr>`,
)}
</tbody></table></div>`;
}

export function invitationPage(input: {
  csrf: string;
  token: string;
  organizationName: string;
  role: string;
  inviter?: string;
  expiresAt: string;
}): SafeHtml {
  return html`<section class="card">
<h1>Join ${input.organizationName}</h1>
<p>${input.inviter ? html`<strong>${input.inviter}</strong> invited you` : 'You have been invited'} to join <strong>${input.organizationName}</strong> as <strong>${input.role}</strong> on the developer portal.</p>
<p class="small muted">The invitation works once and expires ${input.expiresAt.slice(0, 16).replace('T', ' ')} UTC.</p>
<form method="post" action="/portal/invitations/${input.token}">${csrfField(input.csrf)}<button type="submit">Accept the invitation</button></form>
</section>`;
}
