import { field, form, optional, withDefault } from '../../../http/web/index.ts';
import { DEFAULT_OVERLAP_SECONDS, MAX_OVERLAP_SECONDS } from '../api-keys-service.ts';
import { ALL_SCOPES, APP_KINDS, APP_STATES, ENVIRONMENTS, MEMBER_ROLES } from '../model.ts';

/**
 * Every form of the portal, as a schema: a form that does not match is a 400 listing every error before
 * any service runs, and enumerated fields take the domain model's lists (no unchecked casts). The services
 * still apply their own rules (names not blank, redirect URIs valid, transitions allowed).
 */

/** The states the institution may set from the portal (deleting has its own form). */
export const SETTABLE_STATES = APP_STATES.filter((state) => state !== 'deleted');

/** Multi-line text areas (redirect URIs, CORS origins): one value per line. */
const lines = () => withDefault(field.text(20_000), '');
const overlap = () => withDefault(field.integer(0, MAX_OVERLAP_SECONDS), DEFAULT_OVERLAP_SECONDS);
const apiNames = () => withDefault(field.list(100, 64), []);

export const forms = {
  /** Forms that are only a button: the token is all they carry. */
  button: form({}),
  createOrganization: form({ name: field.text(200) }),
  invite: form({ role: withDefault(field.oneOf(MEMBER_ROLES), 'developer') }),
  changeRole: form({ role: field.oneOf(MEMBER_ROLES) }),
  createApplication: form({
    name: field.text(100),
    description: withDefault(field.text(1000), ''),
    kind: withDefault(field.oneOf(APP_KINDS), 'web'),
    redirectUris: lines(),
    corsOrigins: lines(),
    apis: apiNames(),
  }),
  settings: form({
    name: optional(field.text(100)),
    description: withDefault(field.text(1000), ''),
    redirectUris: lines(),
    corsOrigins: lines(),
    apis: apiNames(),
    scopes: withDefault(field.listOf(ALL_SCOPES), []),
  }),
  institution: form({
    state: optional(field.oneOf(SETTABLE_STATES)),
    stateReason: withDefault(field.text(1000), ''),
    environment: optional(field.oneOf(ENVIRONMENTS)),
    ratePlan: optional(field.text(64, 1)),
  }),
  deleteApplication: form({ confirm: optional(field.oneOf(['yes'])) }),
  rotateSecret: form({ overlapSeconds: overlap() }),
  issueKey: form({
    label: withDefault(field.text(100), ''),
    /** Optional last day of validity (`YYYY-MM-DD`, from a date input): the key expires at its end, UTC. */
    expiresOn: withDefault(field.text(10), ''),
  }),
  rotateKey: form({ overlapSeconds: overlap() }),
  revokeKey: form({ confirm: optional(field.oneOf(['yes'])) }),
};

/** The non-empty lines of a text area. */
export function linesOf(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}
