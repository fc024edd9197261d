import type { FastifyInstance } from 'fastify';
import type { ModuleContext } from '../module-context.ts';
import type {
  ApiModule,
  EntitlementService,
  KeyVerifier,
  TokenAuthority,
  UsageRecorder,
} from './contract.ts';

export type * from './contract.ts';

/**
 * The gateway: compiles every registered OpenAPI operation into a route guarded by the security pipeline
 * of DESIGN.md §1. (Scaffold: the gateway module fills this in.)
 */
export function createGateway(
  _context: ModuleContext,
  _deps: {
    keys: KeyVerifier;
    tokens: TokenAuthority;
    entitlements: EntitlementService;
    usage: UsageRecorder;
  },
) {
  return {
    /** Register in-process APIs and the configured upstream APIs as routes. */
    async register(_app: FastifyInstance, _apis: ApiModule[]): Promise<void> {},
    async stop(): Promise<void> {},
  };
}

export type Gateway = ReturnType<typeof createGateway>;
