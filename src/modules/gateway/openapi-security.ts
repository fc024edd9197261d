import { type Fail, isObject, type Json, type SecurityAlternative } from './compiled-api.ts';
import type { SchemaCompiler } from './openapi-schemas.ts';

type SchemeKind = 'apiKey' | 'token';

/**
 * The document's security schemes: which scheme names are the API key and which the access token, and
 * every scope its OAuth flows declare. Returns the compiler of `security` requirements written with them.
 */
export function compileSecuritySchemes(components: Json, deref: SchemaCompiler['deref'], fail: Fail) {
  const schemes = new Map<string, SchemeKind>();
  const scopes = new Map<string, string>();
  const rawSchemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  for (const [schemeName, raw] of Object.entries(rawSchemes)) {
    const scheme = deref(raw, `components.securitySchemes.${schemeName}`);
    if (scheme.type === 'apiKey') {
      if (scheme.in !== 'header' || String(scheme.name).toLowerCase() !== 'api-key') {
        fail(`security scheme "${schemeName}": API keys are accepted only in the API-Key header`);
      }
      schemes.set(schemeName, 'apiKey');
    } else if (scheme.type === 'oauth2' || scheme.type === 'openIdConnect') {
      schemes.set(schemeName, 'token');
      const flows = isObject(scheme.flows) ? scheme.flows : {};
      for (const flow of Object.values(flows)) {
        if (isObject(flow) && isObject(flow.scopes)) {
          for (const [scope, description] of Object.entries(flow.scopes))
            scopes.set(scope, String(description));
        }
      }
    } else if (scheme.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer') {
      schemes.set(schemeName, 'token');
    } else {
      fail(`security scheme "${schemeName}" of type ${JSON.stringify(scheme.type)} is not supported`);
    }
  }

  /** A `security` requirement (a list of alternatives) as the pipeline checks it. */
  const compileSecurity = (raw: unknown, where: string): SecurityAlternative[] => {
    if (!Array.isArray(raw)) return fail(`${where}: "security" must be an array`);
    return raw.map((requirement, index) => {
      if (!isObject(requirement)) return fail(`${where}: security[${index}] must be an object`);
      const alternative = { apiKey: false, token: false, scopes: [] as string[], scopeText: '' };
      for (const [schemeName, list] of Object.entries(requirement)) {
        const kind = schemes.get(schemeName);
        if (!kind)
          fail(`${where}: security scheme "${schemeName}" is not declared in components.securitySchemes`);
        if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
          fail(`${where}: the scopes of "${schemeName}" must be an array of strings`);
        }
        if (kind === 'apiKey') alternative.apiKey = true;
        else {
          alternative.token = true;
          alternative.scopes.push(...(list as string[]));
        }
      }
      alternative.scopeText = alternative.scopes.join(' ');
      return alternative;
    });
  };

  /** `[{ <the first API-key scheme>: [] }]`: the default security of the generated root and apiDoc. */
  const apiKeyOnly = (): Record<string, string[]>[] => {
    for (const [schemeName, kind] of schemes) if (kind === 'apiKey') return [{ [schemeName]: [] }];
    return [{}];
  };

  return { scopes, compileSecurity, apiKeyOnly };
}
