/** Web plumbing shared by the browser surfaces: `/auth` pages, `/portal` and `/demo/`. */
export { boundToken, CSRF_FIELD, type FormRefusal, refuseFormPost } from './csrf.ts';
export { describeWebError, type WebError } from './errors.ts';
export {
  type Field,
  type Form,
  type FormRequest,
  type FormValue,
  field,
  form,
  optional,
  postForm,
  withDefault,
} from './forms.ts';
export { sendPage } from './pages.ts';
export { registerWebPlumbing, type WebPlumbingOptions } from './plumbing.ts';
export {
  createFlash,
  createSessions,
  type KeyValueState,
  type Session,
  type SessionOptions,
  type SessionStore,
  type Sessions,
  type StoredSession,
  sealedSessionStore,
  type ValueSealer,
} from './sessions.ts';
