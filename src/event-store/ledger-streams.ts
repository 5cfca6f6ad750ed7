/**
 * The streams that make up the ledger. Stores that hold other streams too
 * (EventStoreDB's system streams, `sitekey-` key streams) show only these in
 * the global order.
 */
export const LEDGER_STREAM_PREFIXES = ['site-', 'operation-', 'policy-'] as const;

export const siteStreamId = (siteId: string): string => `site-${siteId}`;
export const operationStreamId = (operationId: string): string => `operation-${operationId}`;
