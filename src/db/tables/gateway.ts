/** Tables owned by the gateway module (see the conventions in foundation.ts). */
// biome-ignore lint/complexity/noBannedTypes: filled in as the module's tables are added.
export type GatewayTables = {};
