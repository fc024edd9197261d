import { html, type SafeHtml } from '../html.ts';

/**
 * Server-rendered pages of the authorization server: sign-in, MFA, enrolment, consent, registration,
 * error, sign-out. No scripts, no inline styles (CSP); every form works without JavaScript and carries a
 * CSRF token; headings, labels and focus order are explicit.
 */
export interface PageFrame {
  institutionName: string;
  title: string;
}

export function layout(frame: PageFrame, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} — ${frame.institutionName}</title>
<link rel="stylesheet" href="/static/strongroom.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header"><div class="container"><span class="brand">${frame.institutionName}</span></div></header>
<main id="main" class="container container-narrow">
${body}
</main>
<footer class="site-footer"><div class="container container-narrow">Secured by Strongroom</div></footer>
</body>
</html>`.toString();
}

function errorBox(message: string | undefined): SafeHtml {
  return message ? html`<div class="error" role="alert" id="form-error">${message}</div>` : html``;
}

export function loginPage(input: {
  action: string;
  csrf: string;
  clientName: string;
  username?: string;
  error?: string;
  registerUrl?: string;
}): SafeHtml {
  return html`<div class="card">
<h1>Sign in</h1>
<p class="muted">to continue to <strong>${input.clientName}</strong></p>
${errorBox(input.error)}
<form method="post" action="${input.action}" novalidate>
<input type="hidden" name="csrf" value="${input.csrf}">
<div class="field">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="${input.username ?? ''}" autofocus${input.error ? html` aria-describedby="form-error"` : ''}>
</div>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
</div>
<div class="actions"><button type="submit">Sign in</button></div>
</form>
${input.registerUrl ? html`<p class="small">New developer? <a href="${input.registerUrl}">Create an account</a></p>` : ''}
</div>`;
}

/** The form of a second-factor step: one code field (recovery codes are longer than TOTP codes). */
function otpForm(input: { action: string; csrf: string }, maxLength: number, submit: string): SafeHtml {
  return html`<form method="post" action="${input.action}" novalidate>
<input type="hidden" name="csrf" value="${input.csrf}">
<div class="field">
<label for="otp">Verification code</label>
<input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="${maxLength}" autofocus>
</div>
<div class="actions"><button type="submit">${submit}</button></div>
</form>`;
}

export function mfaPage(input: { action: string; csrf: string; error?: string }): SafeHtml {
  return html`<div class="card">
<h1>Two-step verification</h1>
<p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
${errorBox(input.error)}
${otpForm(input, 32, 'Verify')}
</div>`;
}

export function enrolPage(input: {
  action: string;
  csrf: string;
  secret: string;
  uri: string;
  error?: string;
}): SafeHtml {
  return html`<div class="card">
<h1>Set up two-step verification</h1>
<p>Your role requires a second factor. Add this key to an authenticator app (TOTP, 6 digits, 30 seconds), then enter the code it shows.</p>
<p><span class="visually-hidden">Key: </span><code class="secret">${input.secret}</code></p>
<details><summary>Set-up link</summary><p class="small mono">${input.uri}</p></details>
${errorBox(input.error)}
${otpForm(input, 6, 'Turn on')}
</div>`;
}

export function recoveryCodesPage(input: { action: string; csrf: string; codes: string[] }): SafeHtml {
  return html`<div class="card">
<h1>Save your recovery codes</h1>
<p>Each code works once, in place of a verification code, if you lose your authenticator. They are shown only now.</p>
<ul class="scope-list mono">${input.codes.map((code) => html`<li>${code}</li>`)}</ul>
<form method="post" action="${input.action}">
<input type="hidden" name="csrf" value="${input.csrf}">
<div class="actions"><button type="submit">I have saved them — continue</button></div>
</form>
</div>`;
}

export function consentPage(input: {
  action: string;
  csrf: string;
  clientName: string;
  organizationName: string | null;
  username: string;
  scopes: { name: string; description: string }[];
  /** Scopes the application asked for that this account's roles cannot grant (e.g. a developer's). */
  notGrantable?: string[];
}): SafeHtml {
  const notGrantable = input.notGrantable ?? [];
  return html`<div class="card">
<h1>Allow access?</h1>
<p><strong>${input.clientName}</strong>${input.organizationName ? html` by <strong>${input.organizationName}</strong>` : ''} asks to act on your behalf (you are signed in as <strong>${input.username}</strong>). It will be able to:</p>
${
  input.scopes.length
    ? html`<ul class="scope-list">${input.scopes.map((s) => html`<li>${s.description} <span class="muted small mono">(${s.name})</span></li>`)}</ul>`
    : notGrantable.length
      ? html`<p>Nothing else: your account cannot give this application any of the access it asks for. If you allow, it only learns who you are (your user id and username).</p>`
      : html`<p>Only learn who you are (your user id and username).</p>`
}
${
  notGrantable.length
    ? html`<div class="notice"><p class="small">Not available to your account: <span class="mono">${notGrantable.join(' ')}</span>. Your roles do not include these scopes${input.scopes.length ? '' : ' — developer accounts, for example, manage applications but hold no customer data'}. To try these APIs, sign in as a customer (in the sandbox, one of the test customers listed in the developer portal).</p></div>`
    : ''
}
<p class="small muted">You can revoke this access at any time.</p>
<form method="post" action="${input.action}">
<input type="hidden" name="csrf" value="${input.csrf}">
<div class="actions">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny" class="button-secondary">Deny</button>
</div>
</form>
</div>`;
}

export function errorPage(input: { title: string; message: string; requestId?: string }): SafeHtml {
  return html`<div class="card">
<h1>${input.title}</h1>
<div class="error" role="alert">${input.message}</div>
${input.requestId ? html`<p class="small muted">Reference: <span class="mono">${input.requestId}</span></p>` : ''}
<p><a href="/">Return to the start page</a></p>
</div>`;
}

export function logoutPage(input: { form: SafeHtml; clientName?: string }): SafeHtml {
  return html`<div class="card">
<h1>Sign out</h1>
<p>Do you want to sign out${input.clientName ? html` of ${input.clientName}` : ''}?</p>
${input.form}
<div class="actions">
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button type="submit" form="op.logoutForm" class="button-secondary">Stay signed in</button>
</div>
</div>`;
}

export function loggedOutPage(input: { clientName?: string }): SafeHtml {
  return html`<div class="card">
<h1>You are signed out</h1>
<p>${input.clientName ? html`You have signed out of ${input.clientName}. ` : ''}You can close this window.</p>
</div>`;
}

export function registerPage(input: {
  action: string;
  csrf: string;
  error?: string;
  username?: string;
  email?: string;
  fieldErrors?: Record<string, string>;
}): SafeHtml {
  const fe = input.fieldErrors ?? {};
  const fieldError = (name: string) =>
    fe[name] ? html`<span class="error" id="${name}-error">${fe[name]}</span>` : '';
  const described = (name: string) =>
    fe[name] ? html` aria-invalid="true" aria-describedby="${name}-error"` : '';
  return html`<div class="card">
<h1>Create a developer account</h1>
<p class="muted">Register to create client applications and API keys in the developer portal.</p>
${errorBox(input.error)}
<form method="post" action="${input.action}" novalidate>
<input type="hidden" name="csrf" value="${input.csrf}">
<div class="field">
<label for="username">Username</label>
<span class="hint" id="username-hint">2–64 characters: letters, digits, and . _ @ -</span>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="${input.username ?? ''}"${described('username')}>
${fieldError('username')}
</div>
<div class="field">
<label for="email">E-mail (optional)</label>
<input id="email" name="email" type="email" autocomplete="email" maxlength="254" value="${input.email ?? ''}"${described('email')}>
${fieldError('email')}
</div>
<div class="field">
<label for="password">Password</label>
<span class="hint">At least 8 characters; a long passphrase is best. Common passwords are refused.</span>
<input id="password" name="password" type="password" autocomplete="new-password" required maxlength="128"${described('password')}>
${fieldError('password')}
</div>
<div class="actions"><button type="submit">Create account</button></div>
</form>
</div>`;
}

/** `username` only when the caller vouches for it (never a name taken from the URL as is). */
export function registeredPage(input: { username: string | undefined; continueUrl: string }): SafeHtml {
  const greeting = input.username ? html`Welcome, ${input.username}. ` : html``;
  return html`<div class="card">
<h1>Account created</h1>
<div class="notice" role="status">${greeting}Your developer account is ready.</div>
<p><a class="button" href="${input.continueUrl}">Continue to the developer portal</a></p>
</div>`;
}
