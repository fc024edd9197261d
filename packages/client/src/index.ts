export type { FetchLike } from './authorization.ts';
export {
  type ClientOptions,
  createClient,
  type LoginOptions,
  type RequestOptions,
  type SessionInfo,
  type StrongroomClient,
} from './client.ts';
export * from './generated/index.ts';
export { type ProblemDetails, type ProblemError, StrongroomProblem } from './problem.ts';
export type { RetryOptions } from './sender.ts';
export { refreshDue, SignInRequired } from './session.ts';
export {
  memoryTokenStore,
  type PendingAuthorization,
  type StorageLike,
  type StoredSession,
  type StoredTokens,
  sessionStorageTokenStore,
  type TokenStore,
} from './token-store.ts';
