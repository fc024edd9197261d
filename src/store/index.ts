export {
  type Change,
  type ChangeFeed,
  type ChangeHandler,
  createChangeFeed,
  type ResyncHandler,
} from './change-feed.ts';
export { createInstances, type Instances } from './instances.ts';
export { createReadiness, type Readiness, type ReadinessStatus } from './readiness.ts';
export {
  createResilienceSignals,
  type ResilienceListener,
  type ResilienceSignals,
  type UnavailableCause,
} from './resilience-signals.ts';
export { createSettings, type Settings } from './settings.ts';
export {
  createMemoryState,
  createRedisState,
  createSharedState,
  type RequestCount,
  type RequestWindows,
  type SharedState,
} from './shared-state.ts';
