import type { JsonObject, JsonValue } from '../../src/common/json.js';
import type { Recorded } from '../../src/common/recorded.js';
import type { PersonalDataCodec } from '../../src/ledger/personal-data.codec.js';
import type { SiteContact, SiteEvent } from '../../src/sites/domain/site.events.js';
import type { SiteState } from '../../src/sites/domain/site.state.js';

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
 * A peer's read event as our evolve takes it, contacts still sealed: so a
 * peer folds exactly what our load folds (SiteStreams.load folds sealed
 * events and opens only the result's contacts, see openPeerContacts).
 */
export function recordedOfPeerEvent(event: PeerReadEventShape): Recorded<SiteEvent> {
  const metadata = event.metadata as PeerMetadata;
  return {
    type: event.type,
    data: event.data as JsonObject,
    eventId: metadata.eventId,
    version: Number(metadata.streamPosition),
    occurredAt: metadata.occurredAt,
  } as unknown as Recorded<SiteEvent>;
}

/**
 * A peer's folded state with its contacts opened once, with the site's key
 * as it is now: what SiteStreams.load does after its fold (openContacts),
 * line for line, so both contenders do the same decryption work.
 */
export async function openPeerContacts(codec: PersonalDataCodec, siteId: string, state: SiteState): Promise<SiteState> {
  if (state.status === 'unregistered' || state.contacts.length === 0) return state;
  const reveal = await codec.revealer(siteId);
  const opened = reveal({ contacts: state.contacts as unknown as JsonValue[] })['contacts'];
  return { ...state, contacts: opened as unknown as SiteContact[] };
}
