import type { JsonObject } from '../../src/common/json.js';
import type { Recorded } from '../../src/common/recorded.js';
import type { SiteEvent } from '../../src/sites/domain/site.events.js';

/** What both Emmett peers (SQLite 0.38, PostgreSQL 0.42) hand an evolve: their ReadEvent, seen structurally. */
export interface PeerReadEventShape {
  type: string;
  data: unknown;
  metadata: unknown;
}

/** The metadata both peers put on a read event (besides what they copy from the appended one). */
interface PeerMetadata {
  occurredAt: string;
  eventId: string;
  streamPosition: bigint;
}

/** When a peer's event occurred, as the appended metadata said. */
export function peerOccurredAt(event: PeerReadEventShape): string {
  return (event.metadata as PeerMetadata).occurredAt;
}

/**
 * A peer's read event as our evolve takes it, with the contacts opened by
 * `reveal`: so a peer folds exactly what our load folds.
 */
export function recordedOfPeerEvent(
  event: PeerReadEventShape,
  reveal: (data: JsonObject) => JsonObject,
): Recorded<SiteEvent> {
  const metadata = event.metadata as PeerMetadata;
  return {
    type: event.type,
    data: reveal(event.data as JsonObject),
    eventId: metadata.eventId,
    version: Number(metadata.streamPosition),
    occurredAt: metadata.occurredAt,
  } as unknown as Recorded<SiteEvent>;
}
