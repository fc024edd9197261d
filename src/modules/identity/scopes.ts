/**
 * The one scope catalogue of the platform (DESIGN.md §4): every API scope with the plain-words
 * description shown on the consent page, the scopes a developer-registered application gets without the
 * institution's approval, and the `<family>/full` expansion the gateway applies. Other modules import it
 * through `identity/index.ts`.
 */
export const API_SCOPES = {
  'banking/read': 'See your accounts, transactions and scheduled transfers',
  'banking/readBalance': 'See the balances of your accounts',
  'banking/write': 'Make transfers from your accounts',
  'banking/delete': 'Cancel your scheduled transfers',
  'banking/full': 'Full access to your accounts, balances and transfers',
  'profile/read': 'See your profile and your account applications',
  'profile/write': 'Update your profile and apply for new accounts',
  'data/read': "Read the institution's customer data (for example account applications)",
  'data/write': "Change the institution's customer data (for example approve applications)",
  'data/full': "Full access to the institution's customer data",
  'admin/read': 'See client applications and API keys',
  'admin/write': 'Create and change client applications and API keys',
  'admin/full': 'Administer the whole platform',
} as const;

export type ApiScope = keyof typeof API_SCOPES;

export const API_SCOPE_NAMES: readonly ApiScope[] = Object.keys(API_SCOPES) as ApiScope[];

/** What a developer-registered application may use without the institution's approval. */
export const DEFAULT_SCOPES: readonly string[] = [
  'banking/read',
  'banking/readBalance',
  'banking/write',
  'banking/delete',
  'profile/read',
  'profile/write',
];

export function isApiScope(value: string): value is ApiScope {
  return Object.hasOwn(API_SCOPES, value);
}

export function describeScope(scope: string): string {
  return isApiScope(scope) ? API_SCOPES[scope] : scope;
}

const FULL_SCOPE = /^([A-Za-z0-9_-]+)\/full$/;

/**
 * Granted scopes with the implied ones added: `<family>/full` implies every known `<family>/*` scope
 * (DESIGN.md §4). `known` defaults to the platform's catalogue; the gateway passes the catalogue plus the
 * scopes that configured upstream APIs declare.
 */
export function expandScopes(
  granted: Iterable<string>,
  known: Iterable<string> = API_SCOPE_NAMES,
): ReadonlySet<string> {
  const scopes = new Set(granted);
  const families: string[] = [];
  for (const scope of scopes) {
    const family = FULL_SCOPE.exec(scope)?.[1];
    if (family) families.push(`${family}/`);
  }
  if (families.length === 0) return scopes;
  for (const scope of known) if (families.some((prefix) => scope.startsWith(prefix))) scopes.add(scope);
  return scopes;
}
