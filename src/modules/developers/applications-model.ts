import type { TokenEndpointAuthMethod } from '../oauth/contract.ts';
import type { AppKind, AppState, ClientApplication, Environment } from './model.ts';
import type { PendingChange } from './requests-service.ts';

/** What callers give and get back for applications (applications-service.ts). */

/**
 * An application as callers see it (never a secret or hash): the stored record without its internal
 * fields, with the rate plan by name. `view()` copies field by field, as an allowlist.
 */
export type ApplicationView = Omit<ClientApplication, 'planId' | 'version' | 'createdBy'> & {
  ratePlan: string;
  /** Changes waiting for the institution (DESIGN.md §5.1). */
  pendingChanges: PendingChange[];
};

export interface CreateApplicationInput {
  organizationId: string;
  name: string;
  description?: string;
  kind: AppKind;
  redirectUris?: string[];
  corsOrigins?: string[];
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  scopes?: string[];
  apis?: string[];
  // Privileged (institution only):
  environment?: Environment;
  ratePlan?: string;
  state?: AppState;
  firstParty?: boolean;
  clientId?: string;
}

export interface ApplicationPatch {
  name?: string;
  description?: string;
  redirectUris?: string[];
  corsOrigins?: string[];
  apis?: string[];
  scopes?: string[];
  state?: AppState;
  stateReason?: string;
  environment?: Environment;
  ratePlan?: string;
  organizationId?: string;
}
