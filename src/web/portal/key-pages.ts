import { html, type SafeHtml } from '../html.ts';
import { csrfField } from './layout.ts';

/** The confirmation before a key is revoked: what stops working, and a way back. */
export function revokeKeyPage(input: {
  csrf: string;
  key: { id: string; prefix: string; last4: string; label: string; clientApplicationId: string };
}): SafeHtml {
  const { key } = input;
  return html`<section class="card danger-zone">
<h1>Revoke API key <code>${key.prefix}…${key.last4}</code>?</h1>
${key.label ? html`<p>Label: ${key.label}</p>` : ''}
<p>Every call with this key answers 401 at once, on every server. Revoking cannot be undone: to replace a key without downtime, rotate it instead.</p>
<form method="post" action="/portal/keys/${key.id}/revoke" class="row">${csrfField(input.csrf)}
<input type="hidden" name="confirm" value="yes">
<button type="submit" class="button-danger">Revoke the key</button>
<a class="button button-secondary" href="/portal/applications/${key.clientApplicationId}">Cancel</a>
</form>
</section>`;
}
