export { type Change, type ChangeFeed, type ChangeHandler, createChangeFeed } from './change-feed.ts';
export { createSettings, type Settings } from './settings.ts';
export { createMemoryState, createRedisState, createSharedState, type SharedState } from './shared-state.ts';
