// Renders an API's OpenAPI document with Swagger UI (served from /static/portal/swagger-ui/). "Authorize"
// runs the authorization code flow with PKCE for the developer's own application, whose client id the page
// fills in; the window it opens comes back to /portal/oauth2-redirect.
document.addEventListener('DOMContentLoaded', () => {
  const container = document.getElementById('api-reference');
  if (!container || typeof window.SwaggerUIBundle !== 'function') return;
  container.textContent = '';
  const ui = window.SwaggerUIBundle({
    url: container.getAttribute('data-spec-url'),
    domNode: container,
    deepLinking: true,
    tryItOutEnabled: false,
    oauth2RedirectUrl: container.getAttribute('data-redirect-url'),
    // Credentials belong to the caller's own tools; the reference never stores them.
    persistAuthorization: false,
    validatorUrl: null,
  });
  const clientId = container.getAttribute('data-client-id');
  if (clientId) {
    const scopes = (container.getAttribute('data-scopes') || '').split(' ').filter(Boolean);
    ui.initOAuth({
      clientId,
      scopes,
      usePkceWithAuthorizationCodeGrant: true,
      // Always ask who signs in (a test customer), not the developer whose session the browser may hold.
      additionalQueryStringParams: { prompt: 'login' },
      // Confidential apps authenticate at the token endpoint as registered (client_secret_basic).
      useBasicAuthenticationWithAccessCodeGrant: container.getAttribute('data-confidential') === 'true',
    });
  }
});
