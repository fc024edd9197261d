import { html, type SafeHtml } from '../html.ts';
import { csrfField } from './layout.ts';

/** The sandbox page (DESIGN.md §5.4): its test customers and their passwords, and a reset per organization. */
export function sandboxPage(input: {
  csrf: string;
  customers: { username: string; password: string; persona: string }[];
  organizations: { id: string; name: string }[];
  note?: string;
}): SafeHtml {
  return html`<h1>Sandbox</h1>
${input.note ? html`<div class="notice" role="status">${input.note}</div>` : ''}
<section class="card" aria-labelledby="customers">
<h2 id="customers">Test customers</h2>
<p>Sign in as these customers through your <strong>sandbox</strong> applications. They own sandbox accounts with
six months of transactions; sandbox keys see only sandbox data, and these customers cannot sign in to production
applications (nor production customers to sandbox ones).</p>
${
  input.customers.length === 0
    ? html`<p class="muted">This institution has not enabled its sandbox.</p>`
    : html`<div class="table-wrap"><table><thead><tr><th scope="col">Username</th><th scope="col">Password</th><th scope="col">Persona</th></tr></thead><tbody>
${input.customers.map(
  (c) =>
    html`<tr><td><code>${c.username}</code></td><td><code>${c.password}</code></td><td>${c.persona}</td></tr>`,
)}
</tbody></table></div>`
}
</section>
<section class="card" aria-labelledby="reset">
<h2 id="reset">Reset sandbox data</h2>
<p>Puts every sandbox account, transaction, transfer and account application back as first seeded (passwords stay).
The sandbox is shared by every organization's sandbox applications.</p>
${
  input.organizations.length === 0 || input.customers.length === 0
    ? html`<p class="muted">Join or create an organization to reset the sandbox.</p>`
    : html`<ul class="plain">${input.organizations.map(
        (org) =>
          html`<li><form method="post" action="/portal/sandbox/organizations/${org.id}/reset">${csrfField(input.csrf)}<button type="submit">Reset sandbox data for ${org.name}</button></form></li>`,
      )}</ul>`
}
</section>`;
}
