// Renders an API's OpenAPI document with Swagger UI (served from /static/portal/swagger-ui/).
document.addEventListener('DOMContentLoaded', () => {
  const container = document.getElementById('api-reference');
  if (!container || typeof window.SwaggerUIBundle !== 'function') return;
  container.textContent = '';
  window.SwaggerUIBundle({
    url: container.getAttribute('data-spec-url'),
    domNode: container,
    deepLinking: true,
    tryItOutEnabled: false,
    // Credentials belong to the caller's own tools; the reference never stores them.
    persistAuthorization: false,
    validatorUrl: null,
  });
});
