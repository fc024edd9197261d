import type { DemoDocument, DemoUser } from '../../demo/demo-file.ts';
import { html, type SafeHtml } from '../html.ts';
import type { ApiAnswer } from './demo-api.ts';

/** A page of the /demo/ client: shared styles from /static, no inline scripts or styles (CSP). */
export function layout(title: string, body: SafeHtml, signedIn?: { username: string; csrf: string }): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Strongroom demo</title>
<link rel="stylesheet" href="/static/strongroom.css">
<link rel="stylesheet" href="/static/demo.css">
</head>
<body>
<header class="site-header"><div class="container">
<a class="brand" href="/demo/">Strongroom demo back office</a>
${
  signedIn
    ? html`<form class="demo-signout" method="post" action="/demo/logout">
<span class="muted">Signed in as <strong>${signedIn.username}</strong></span>
<input type="hidden" name="csrf" value="${signedIn.csrf}">
<button class="button-secondary" type="submit">Sign out</button>
</form>`
    : ''
}
</div></header>
<main><div class="container stack">
${body}
</div></main>
<footer class="site-footer"><div class="container small muted">
This page is the <code>backOffice</code> client application of the demo institution. It signs you in with the
authorization-code flow (PKCE) and calls the banking APIs through the gateway with its API key and your access token.
</div></footer>
</body>
</html>`.toString();
}

export function notConfiguredPage(): string {
  return layout(
    'Demo not available',
    html`<h1>The demo institution is not set up</h1>
<p>This server was started without <code>--demo</code>, so there is no <code>demo.json</code> with the
<code>backOffice</code> application's credentials. Start it with <code>npm start</code> (which passes
<code>--demo</code>) on an empty data directory to try the demo.</p>`,
  );
}

/** A refused or failed request (a form from another site or without its token, a bad form). */
export function errorPage(title: string, detail: string): string {
  return layout(
    title,
    html`<h1>${title}</h1>
<p class="error" role="alert">${detail}</p>
<p><a href="/demo/">Back to the demo</a></p>`,
  );
}

export function signedOutPage(demo: DemoDocument, csrf: string, message?: string): string {
  const users = demo.users.map(
    (
      u: DemoUser,
    ) => html`<tr><td><code>${u.username}</code></td><td>${u.persona}</td><td>${u.roles.join(', ')}</td>
<td class="small">${u.totpSecret ? 'password + TOTP code' : 'password'}</td></tr>`,
  );
  return layout(
    'Sign in',
    html`<h1>See the security model at work</h1>
${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<p>Sign in as one of the demo institution's users. Each has different <strong>scopes</strong> (what their
roles allow) and <strong>entitlements</strong> (which accounts they may see or move money from), so the same
pages give different answers. Passwords and TOTP secrets are in <code>demo.json</code> in the server's data
directory.</p>
<div class="table-wrap"><table>
<caption>Demo users</caption>
<thead><tr><th>Username</th><th>Persona</th><th>Roles</th><th>Sign-in</th></tr></thead>
<tbody>${users}</tbody>
</table></div>
<form method="post" action="/demo/login">
<input type="hidden" name="csrf" value="${csrf}">
<button type="submit">Sign in with the authorization server</button>
</form>`,
  );
}

/** The raw answer of an API call, shown plainly (status and problem+json). */
function answerBlock(
  answer: ApiAnswer | { title: string; status: number; body: unknown; request?: string },
): SafeHtml {
  const ok = answer.status < 400;
  return html`<div class="${ok ? 'notice' : 'error'} demo-answer">
<p><strong>${answer.request ?? ''}</strong> → <span class="demo-status">${answer.status}</span></p>
<pre>${JSON.stringify(answer.body, null, 2)}</pre>
</div>`;
}

export interface AccountView {
  id: string;
  name: string;
  category: string;
  masked: string;
  balance: ApiAnswer;
}

export function homePage(input: {
  user: { username: string; persona: string; scopes: string };
  csrf: string;
  accounts: ApiAnswer;
  accountViews: AccountView[];
  transfers: ApiAnswer;
  applications: ApiAnswer;
  flash?: { title: string; status: number; body: unknown; request?: string };
  idempotencyKey: string;
  today: string;
}): string {
  const { accountViews } = input;
  const balanceCell = (a: AccountView) => {
    if (a.balance.status === 200) {
      const b = a.balance.body as { available: { value: string; currency: string } };
      return html`<td class="numeric">${b.available.value} ${b.available.currency}</td>`;
    }
    const problem = a.balance.body as { type?: string };
    return html`<td class="numeric muted">${a.balance.status} ${String(problem?.type ?? '')
      .split('/')
      .pop()}</td>`;
  };
  const accountsTable =
    input.accounts.status === 200
      ? html`<div class="table-wrap"><table>
<caption>Your accounts (<code>GET /accounts/accounts</code>)</caption>
<thead><tr><th>Account</th><th>Number</th><th>Type</th><th class="numeric">Available balance</th></tr></thead>
<tbody>${accountViews.map(
          (
            a,
          ) => html`<tr><td><a href="/demo/accounts/${a.id}">${a.name}</a></td><td class="mono">${a.masked}</td>
<td>${a.category}</td>${balanceCell(a)}</tr>`,
        )}</tbody></table></div>
${accountViews.length === 0 ? html`<p class="muted">You are not entitled to any account.</p>` : ''}`
      : answerBlock(input.accounts);
  const options = accountViews.map((a) => html`<option value="${a.id}">${a.name} (${a.masked})</option>`);
  const transfers =
    input.transfers.status === 200
      ? (input.transfers.body as { items: Record<string, unknown>[] }).items.slice(0, 10)
      : undefined;
  const applications =
    input.applications.status === 200
      ? (input.applications.body as { items: Record<string, unknown>[] }).items.slice(0, 10)
      : undefined;
  return layout(
    'Accounts',
    html`<h1>Hello, ${input.user.username}</h1>
<p class="muted">${input.user.persona}. Your token's scopes: <code>${input.user.scopes || '(none)'}</code></p>
${input.flash ? html`<section aria-labelledby="flash-title"><h2 id="flash-title">${input.flash.title}</h2>${answerBlock(input.flash)}</section>` : ''}
<section class="card stack"><h2>Accounts</h2>${accountsTable}</section>
<section class="card stack"><h2>Make a transfer</h2>
<p class="small muted">Posts <code>POST /transfers/scheduledTransfers</code> with an <code>Idempotency-Key</code>;
submitting the same form twice replays the first answer instead of moving money twice.</p>
<form method="post" action="/demo/transfers" class="stack">
<input type="hidden" name="csrf" value="${input.csrf}">
<input type="hidden" name="idempotencyKey" value="${input.idempotencyKey}">
<div class="field"><label for="source">From account id</label>
<input id="source" name="source" list="accounts-list" required maxlength="64"></div>
<div class="field"><label for="target">To account id</label>
<input id="target" name="target" list="accounts-list" required maxlength="64"></div>
<datalist id="accounts-list">${options}</datalist>
<div class="field"><label for="amount">Amount (USD)</label>
<input id="amount" name="amount" inputmode="decimal" required maxlength="20" value="25.00"></div>
<div class="field"><label for="date">Date</label><input id="date" name="date" type="date" value="${input.today}" required></div>
<div class="field"><label for="memo">Memo</label><input id="memo" name="memo" maxlength="140"></div>
<button type="submit">Schedule transfer</button>
</form></section>
<section class="card stack"><h2>Transfers</h2>
${
  transfers
    ? html`<div class="table-wrap"><table><caption>Recent transfers (<code>GET /transfers/scheduledTransfers</code>)</caption>
<thead><tr><th>Date</th><th>From</th><th>To</th><th class="numeric">Amount</th><th>State</th><th></th></tr></thead>
<tbody>${transfers.map((t) => {
        const amount = t.amount as { value: string; currency: string };
        return html`<tr><td>${(t.schedule as { start: string }).start}</td><td class="mono">${(t.sourceAccount as { id: string }).id}</td>
<td class="mono">${(t.targetAccount as { id: string }).id}</td><td class="numeric">${amount.value} ${amount.currency}</td>
<td><span class="badge">${t.state}</span> ${t.failureReason ? html`<span class="small">${t.failureReason}</span>` : ''}</td>
<td>${
          t.state === 'scheduled'
            ? html`<form method="post" action="/demo/transfers/${t.id}/cancel"><input type="hidden" name="csrf" value="${input.csrf}">
<button class="button-link" type="submit">Cancel</button></form>`
            : ''
        }</td></tr>`;
      })}</tbody></table></div>`
    : answerBlock(input.transfers)
}
</section>
<section class="card stack"><h2>Account applications</h2>
${
  applications
    ? html`<ul>${applications.map(
        (a) => html`<li><code>${a.id}</code> — ${a.productId} — <span class="badge">${a.state}</span>
${
  a.state === 'pending'
    ? html`<form class="demo-inline" method="post" action="/demo/applications/${a.id}/approve">
<input type="hidden" name="csrf" value="${input.csrf}"><button class="button-link" type="submit">Approve</button></form>
<form class="demo-inline" method="post" action="/demo/applications/${a.id}/reject">
<input type="hidden" name="csrf" value="${input.csrf}"><button class="button-link" type="submit">Reject</button></form>`
    : ''
}</li>`,
      )}</ul>
${applications.length === 0 ? html`<p class="muted">No applications.</p>` : ''}`
    : answerBlock(input.applications)
}
</section>
<section class="card stack"><h2>Try the security model</h2>
<p>Each button makes one API call for you and shows the gateway's answer as it is — including the
problem+json document when you lack a scope or an entitlement.</p>
<form method="post" action="/demo/try" class="actions">
<input type="hidden" name="csrf" value="${input.csrf}">
<button type="submit" name="probe" value="balances">Read every balance</button>
<button type="submit" name="probe" value="transferOut">Move $1 between accounts I can see</button>
<button type="submit" name="probe" value="otherAccount">Read an account that is not mine</button>
<button type="submit" name="probe" value="unmasked">Show a full account number</button>
<button type="submit" name="probe" value="allApplications">List every account application</button>
<button type="submit" name="probe" value="noToken">Call without the access token</button>
</form></section>`,
    { username: input.user.username, csrf: input.csrf },
  );
}

export function accountPage(input: {
  username: string;
  csrf: string;
  account: ApiAnswer;
  transactions: ApiAnswer;
  accountId: string;
}): string {
  const account = input.account.status === 200 ? (input.account.body as Record<string, unknown>) : undefined;
  const page =
    input.transactions.status === 200
      ? (input.transactions.body as {
          items: Record<string, unknown>[];
          start: number;
          limit: number;
          count: number;
          _links: { next?: { href: string }; prev?: { href: string } };
        })
      : undefined;
  const link = (href: string | undefined, label: string) => {
    if (!href) return '';
    const start = new URL(href, 'https://x').searchParams.get('start') ?? '0';
    return html`<a href="/demo/accounts/${input.accountId}?start=${start}">${label}</a>`;
  };
  return layout(
    account ? String(account.name) : 'Account',
    html`<p><a href="/demo/">← All accounts</a></p>
${account ? html`<h1>${String(account.name)}</h1><p class="muted">${String(account.category)} · ${(account.accountNumbers as { masked: string }).masked}</p>` : answerBlock(input.account)}
${
  page
    ? html`<div class="table-wrap"><table><caption>Transactions ${page.start + 1}–${page.start + page.items.length} of ${page.count}</caption>
<thead><tr><th>Date</th><th>Description</th><th>Category</th><th class="numeric">Amount</th></tr></thead>
<tbody>${page.items.map((t) => {
        const amount = t.amount as { value: string };
        return html`<tr><td>${t.postedOn}</td><td>${t.description}</td><td>${t.category}</td>
<td class="numeric">${t.type === 'debit' ? '−' : '+'}${amount.value}</td></tr>`;
      })}</tbody></table></div>
<p class="actions">${link(page._links.prev?.href, '← Newer')} ${link(page._links.next?.href, 'Older →')}</p>`
    : answerBlock(input.transactions)
}`,
    { username: input.username, csrf: input.csrf },
  );
}
