/** The API reference's OAuth redirect page (Swagger UI's "Authorize" window lands here). */
export const OAUTH2_REDIRECT_PATH = '/portal/oauth2-redirect';

/**
 * A sandbox application's redirect URIs with the API reference's redirect page added, so "Authorize" in
 * the portal signs in with the developer's own client id (DESIGN.md §5.4). Services have no redirect
 * (client credentials only); production apps keep exactly the URIs the institution approved.
 */
export function withReferenceRedirect(
  baseUrl: string | undefined,
  app: { environment: string; kind: string },
  redirectUris: string[],
): string[] {
  if (!baseUrl || app.environment !== 'sandbox' || app.kind === 'service') return redirectUris;
  // oidc-provider refuses a native client's claimed https redirect on `localhost` (the whole client would
  // stop working): a local demo's native apps go without it.
  if (app.kind === 'native' && new URL(baseUrl).hostname === 'localhost') return redirectUris;
  const uri = `${baseUrl}${OAUTH2_REDIRECT_PATH}`;
  return redirectUris.includes(uri) ? redirectUris : [...redirectUris, uri];
}
