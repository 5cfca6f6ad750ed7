import { hash as digest } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json.js';
import type { JsonObject } from '../common/json.js';

/** The `prevHash` of the first event of every stream. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Who, when, why and in what context an event was recorded. `actor` is always
 * the authenticated principal (or `system:<job>`), never a value taken from a
 * request body.
 */
export interface EventMetadata {
  actor: string;
  /** ISO 8601 UTC with milliseconds (`Date#toISOString`), so strings sort by time. */
  occurredAt: string;
  /** Shared by every event caused by one request or one job run. */
  correlationId: string;
  /** The event or request that caused this event; null for a plain request. */
  causationId: string | null;
  operationId?: string;
  reason?: string;
  ticket?: string;
  /** The `eventId` this event compensates (restores, reverts). */
  compensates?: string;
}

/** An event as its author writes it, before it has a place in a stream. */
export interface NewEvent {
  eventId: string;
  type: string;
  data: JsonObject;
  metadata: EventMetadata;
}

/** An event sealed into its stream's hash chain, ready to be written. */
export interface ChainedEvent extends NewEvent {
  streamId: string;
  /** 1 for the first event of a stream. */
  version: number;
  prevHash: string;
  hash: string;
}

/** An event as the store holds it. */
export interface StoredEvent extends ChainedEvent {
  /**
   * Opaque global position (SQLite sequence, EventStoreDB commit position).
   * Only the store that issued it can order it; pass it back unchanged.
   */
  position: string;
}

/** Where a stream ends: the chain's next event links to `hash`. */
export interface StreamHead {
  version: number;
  hash: string;
}

export const EMPTY_STREAM_HEAD: StreamHead = { version: 0, hash: GENESIS_HASH };

/**
 * hash = SHA-256(prevHash ‖ canonical JSON of the event without its hash).
 *
 * The hashed event holds `streamId`, `version` and `eventId` besides type,
 * data and metadata, so an event can be neither moved to another stream or
 * place nor renamed without breaking the chain.
 */
export function hashEvent(prevHash: string, event: Omit<ChainedEvent, 'prevHash' | 'hash'>): string {
  // One-shot crypto.hash: a third cheaper than a createHash object for inputs this small.
  return digest('sha256', prevHash + hashedBody(event), 'hex');
}

/**
 * canonicalJson({streamId, version, eventId, type, data, metadata}), written
 * out: the six top-level keys are always present and their sorted order is
 * fixed, so only `data` and `metadata` need the general (sorting) form.
 * Every append hashes every event, which makes this worth spelling out;
 * the envelope spec checks it against canonicalJson.
 */
export function hashedBody(event: Omit<ChainedEvent, 'prevHash' | 'hash'>): string {
  return (
    `{"data":${canonicalJson(event.data)},"eventId":${canonicalJson(event.eventId)},` +
    `"metadata":${canonicalJson(event.metadata)},"streamId":${canonicalJson(event.streamId)},` +
    `"type":${canonicalJson(event.type)},"version":${canonicalJson(event.version)}}`
  );
}

/** Seals `events` onto the end of the stream whose head is `head`. */
export function chainEvents(streamId: string, head: StreamHead, events: readonly NewEvent[]): ChainedEvent[] {
  let { version, hash: prevHash } = head;
  return events.map(({ eventId, type, data, metadata }) => {
    version += 1;
    // One object per event, built field by field (no spreads): appends of
    // thousands of events chain each of them.
    const chained: ChainedEvent = { eventId, type, data, metadata, streamId, version, prevHash, hash: '' };
    chained.hash = hashEvent(prevHash, chained);
    prevHash = chained.hash;
    return chained;
  });
}

export type ChainCheck =
  { ok: true; head: StreamHead } | { ok: false; brokenAt: { streamId: string; version: number; eventId: string } };

/**
 * Recomputes the chain of one stream, given its events oldest first, starting
 * at `from` (the genesis head unless checking a tail). Reports the first event
 * whose link, place or hash does not hold.
 */
export function verifyChain(events: Iterable<ChainedEvent>, from: StreamHead = EMPTY_STREAM_HEAD): ChainCheck {
  let head = from;
  for (const event of events) {
    const intact =
      event.version === head.version + 1 &&
      event.prevHash === head.hash &&
      hashEvent(event.prevHash, event) === event.hash;
    if (!intact) {
      return {
        ok: false,
        brokenAt: { streamId: event.streamId, version: event.version, eventId: event.eventId },
      };
    }
    head = { version: event.version, hash: event.hash };
  }
  return { ok: true, head };
}
