import type { Kysely } from 'kysely';
import type { Config } from '../config/index.ts';
import type { Database, Store } from '../db/index.ts';
import type { DemoDocument } from '../demo/demo-file.ts';
import type { ProblemCatalogue } from '../errors/index.ts';
import type { Logger } from '../http/logger.ts';
import type { Clock } from '../lib/clock.ts';
import type { Sealer } from '../lib/sealer.ts';
import type { ChangeFeed, Instances, ResilienceSignals, Settings, SharedState } from '../store/index.ts';
import type { AuditLog } from './audit/index.ts';

/** What every module's factory receives from `createApp`: the platform's shared services, nothing global. */
export interface ModuleContext {
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly store: Store;
  readonly db: Kysely<Database>;
  readonly changes: ChangeFeed;
  readonly shared: SharedState;
  readonly settings: Settings;
  /** The running processes (heartbeats in the store); Redis fallbacks share quotas among them. */
  readonly instances: Instances;
  /** Where 503s (by cause) and the change-log lag are reported: the hook for metrics (DESIGN.md §5.2). */
  readonly signals: ResilienceSignals;
  /** Encrypts secrets at rest with the key-encryption key. */
  readonly sealer: Sealer;
  readonly audit: AuditLog;
  /** The app's problem types: every module's catalogue, plus types upstream documents declare. */
  readonly problems: ProblemCatalogue;
  /** Public base URL without trailing slash, e.g. `https://localhost:8443`. */
  readonly baseUrl: string;
}

/**
 * A module's part of the demo institution. `seed` runs once, into an empty store, in dependency order
 * (identity → oauth → developers → banking), and fills in its part of the demo document. `refresh` runs
 * on later starts so URL-dependent fields (redirect URIs) follow `--port` / `--public-url`.
 */
export interface DemoSeeder {
  readonly name: string;
  seed(demo: DemoDocument): Promise<void>;
  refresh?(demo: DemoDocument): Promise<void>;
}
