/**
 * The API scopes of the platform (DESIGN.md §4), with the plain-words description shown on the consent
 * page. `*​/full` scopes imply the other scopes of their family; the gateway expands them.
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

export const API_SCOPE_NAMES: readonly string[] = Object.keys(API_SCOPES);

export function isApiScope(value: string): value is ApiScope {
  return Object.hasOwn(API_SCOPES, value);
}

/** Scopes that are not API scopes but that the authorization server understands. */
export const PROTOCOL_SCOPES: readonly string[] = ['openid', 'offline_access'];

export function describeScope(scope: string): string {
  return isApiScope(scope) ? API_SCOPES[scope] : scope;
}
