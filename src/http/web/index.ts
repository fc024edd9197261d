/** Web plumbing shared by the browser surfaces: `/auth` pages, `/portal` and `/demo/`. */
export { boundToken } from './csrf.ts';
export type { WebError } from './errors.ts';
export { type Form, type FormRequest, field, form, optional, postForm, withDefault } from './forms.ts';
export { sendPage } from './pages.ts';
export { registerWebPlumbing } from './plumbing.ts';
export {
  createFlash,
  createSessions,
  type Session,
  type SessionStore,
  type Sessions,
  type StoredSession,
  sealedSessionStore,
} from './sessions.ts';
