import { canonicalJson } from '../common/canonical-json.js';
import type { JsonObject } from '../common/json.js';
import { hashLeafText } from './merkle.js';

/**
 * A ledger event as the log's Merkle tree sees it: the event as stored,
 * sealed into its stream's hash chain. The store's event types fit it
 * as they are (this layer may not import them).
 */
export interface LeafEvent {
  streamId: string;
  version: number;
  eventId: string;
  type: string;
  /** As stored: personal data sealed, so shredding its key never changes a leaf. */
  data: JsonObject;
  /** EventMetadata; any JSON object. */
  metadata: object;
  prevHash: string;
  hash: string;
}

/**
 * The bytes of leaf i: UTF-8 of the canonical JSON of the stored event's
 * eight fields, `prevHash` and `hash` included — the hashed body of the
 * chain plus the link, so an auditor holding a leaf can recompute the
 * event's chain hash from it. Only these eight are taken: a store's own
 * fields (the opaque `position`) differ between engines and copies of the
 * same log, and must not change its root.
 */
export function leafBytes(event: LeafEvent): Buffer {
  return Buffer.from(leafText(event), 'utf8');
}

/** hashLeaf(leafBytes(event)): what the tree stores for the event. */
export function leafHashOf(event: LeafEvent): Buffer {
  return hashLeafText(leafText(event));
}

function leafText(event: LeafEvent): string {
  const { streamId, version, eventId, type, data, metadata, prevHash, hash } = event;
  return canonicalJson({ streamId, version, eventId, type, data, metadata, prevHash, hash });
}
