import { html, type SafeHtml } from '../html.ts';

/**
 * Developer portal pages: server-rendered, no inline scripts or styles (CSP). Every form posts with a CSRF
 * token and works without JavaScript; `/static/portal.js` only adds copy buttons. Charts are inline SVG
 * drawn with presentation attributes (no style attributes). This file holds the frame and the pieces
 * every page uses.
 */

export interface PortalFrame {
  institutionName: string;
  title: string;
  user?: { username: string; institution: boolean };
  csrf?: string;
  /** Extra stylesheets and scripts of this page (e.g. the API reference renderer), same-origin paths. */
  stylesheets?: string[];
  scripts?: string[];
}

export function portalLayout(frame: PortalFrame, body: SafeHtml): string {
  const nav = frame.user
    ? html`<nav class="site-nav" aria-label="Portal">
<ul>
<li><a href="/portal">Dashboard</a></li>
<li><a href="/portal/apis">API reference</a></li>
<li><a href="/portal/sandbox">Sandbox</a></li>
<li><span class="muted">Signed in as <strong>${frame.user.username}</strong>${frame.user.institution ? ' (institution administrator)' : ''}</span></li>
<li><form method="post" action="/portal/logout" class="inline-form">${csrfField(frame.csrf ?? '')}<button type="submit" class="button-link">Sign out</button></form></li>
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
${(frame.stylesheets ?? []).map((href) => html`<link rel="stylesheet" href="${href}">`)}
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

/** An error page: the problem's title and detail, and a link to what its type means (`/errors/<type>`). */
export function errorPage(input: { type: string; title: string; detail: string }): SafeHtml {
  return html`<section class="card"><h1>${input.title}</h1><p>${input.detail}</p>
<p class="small"><a href="/errors/${input.type}">What this means</a> · <a href="/portal">Back to the dashboard</a></p></section>`;
}
