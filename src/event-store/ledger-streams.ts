/**
 * The streams that make up the ledger. Stores that hold other streams too
 * (EventStoreDB's system streams, `sitekey-` key streams, `claim-` ID claim
 * streams) show only these in the global order.
 */
export const LEDGER_STREAM_PREFIXES = ['site-', 'operation-', 'policy-'] as const;

/** Whether a stream is part of the ledger, so its events take part in the global order. */
export const isLedgerStream = (streamId: string): boolean =>
  LEDGER_STREAM_PREFIXES.some((prefix) => streamId.startsWith(prefix));

/**
 * Streams that hold site data keys where the key store shares the engine
 * with the ledger (EventStoreDB): beside the ledger, never part of it, never
 * in its global order.
 */
export const SITE_KEY_STREAM_PREFIX = 'sitekey-';

export const siteKeyStreamId = (siteId: string): string => `${SITE_KEY_STREAM_PREFIX}${siteId}`;

/**
 * One stream per site ID or installation ID, saying who holds it (see
 * sites/domain/id-claims.ts). An index beside the ledger, written in the
 * same append as the site events that take or give back the ID, so the
 * shared store itself has one winner when two instances race on a new ID.
 * Not part of the ledger: out of its global order, feeds and checkpoints.
 */
export const ID_CLAIM_STREAM_PREFIX = 'claim-';

export const idClaimStreamId = (id: string): string => `${ID_CLAIM_STREAM_PREFIX}${id}`;

/** The purge policy switch (SPEC §4). */
export const PURGE_POLICY_STREAM = 'policy-purge';

export const siteStreamId = (siteId: string): string => `site-${siteId}`;

/** The site a stream belongs to, or undefined for a stream that is not a site's. */
export const siteIdOfStream = (streamId: string): string | undefined =>
  streamId.startsWith('site-') ? streamId.slice('site-'.length) : undefined;

export const operationStreamId = (operationId: string): string => `operation-${operationId}`;

/** The operation a stream belongs to, or undefined for a stream that is not an operation's. */
export const operationIdOfStream = (streamId: string): string | undefined =>
  streamId.startsWith('operation-') ? streamId.slice('operation-'.length) : undefined;
