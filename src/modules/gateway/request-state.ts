import type { FastifyRequest } from 'fastify';
import type { CompiledOperation } from './compiled-api.ts';
import type { Principal, VerifiedKey } from './contract.ts';

/** What the gateway knows about one request while it is being answered. */
export interface GatewayState {
  op: CompiledOperation;
  key: VerifiedKey | undefined;
  principal: Principal | undefined;
  /** Under an API's prefix but matching none of its operations (answered 404/405, metered, never abuse). */
  unrouted?: boolean;
}

/** What a CORS preflight route answers for its path. */
export interface PreflightSpec {
  methods: string[];
  /** `Access-Control-Allow-Headers` value. */
  headers: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    gateway: GatewayState | null;
  }
  interface FastifyContextConfig {
    gatewayOperation?: CompiledOperation;
    gatewayPreflight?: PreflightSpec;
  }
}

/** The state the security pipeline left on a request routed to a gateway operation (handlers only). */
export const stateOf = (request: FastifyRequest): GatewayState => request.gateway as GatewayState;
