import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { hashEvent, type ChainedEvent, type StreamHead } from '../event-store/event-envelope.js';

/**
 * A stream's state folded from its first `version` events, persisted so that
 * a service just started reads only the events after it. It stands for the
 * chain it was folded from: `hash` is the hash of event `version`, checked
 * when it was folded, and a snapshot is used only while the store still
 * holds that event (`stillStored`); the events after it are then checked
 * from that hash on, as every read checks what it folds.
 */
export interface Snapshot {
  streamId: string;
  /** How many events it folded (at least 1). */
  version: number;
  /** The hash of event `version`. */
  hash: string;
  /** `occurredAt` of event `version`. */
  lastOccurredAt: string;
  /** The latest `occurredAt` among events 1..version, in ms: a read as of T may start here only if it is ≤ T. */
  maxOccurredAtMs: number;
  /** Whether `occurredAt` never went backwards over events 1..version. */
  inTimeOrder: boolean;
  /** The state as JSON, as the feature folds it: personal data sealed as stored, never opened. */
  state: string;
}

/** A snapshot with its MAC: what the snapshot file holds. */
export interface SealedSnapshot extends Snapshot {
  /** HMAC-SHA256 (base64url) over the kind and every field above, with the snapshot key. */
  mac: string;
}

/**
 * The snapshot key: derived from a secret the deployment already guards (the
 * checkpoint signing key, see snapshots.module.ts) with HKDF, so it is never
 * that secret itself and needs no file of its own.
 */
export function snapshotKeyOf(secret: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'tenant-ledger', 'site snapshots, HMAC-SHA256', 32));
}

/**
 * Seals and checks snapshots of one kind. The kind names what `state` means
 * (`site-state/1`): a snapshot of another kind, or of an older layout of the
 * same state, does not hold, so a new fold never starts from an old one's
 * shape. A snapshot edited in the file, written by another deployment or
 * moved to another stream or version does not hold either.
 */
export class SnapshotSeal {
  constructor(
    private readonly key: Buffer,
    readonly kind: string,
  ) {}

  /** Names the kind and the key (not the key itself): what a snapshot file holds (SnapshotFile.claim). */
  get owner(): string {
    return `${this.kind} ${createHmac('sha256', this.key).update('snapshot key id').digest('hex').slice(0, 16)}`;
  }

  seal(snapshot: Snapshot): SealedSnapshot {
    return { ...snapshot, mac: this.#mac(snapshot) };
  }

  holds(sealed: SealedSnapshot): boolean {
    const expected = Buffer.from(this.#mac(sealed), 'base64url');
    const actual = Buffer.from(sealed.mac, 'base64url');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  #mac(snapshot: Snapshot): string {
    const { streamId, version, hash, lastOccurredAt, maxOccurredAtMs, inTimeOrder, state } = snapshot;
    // A JSON array: no field can run into the next one.
    const fields = JSON.stringify([this.kind, streamId, version, hash, lastOccurredAt, maxOccurredAtMs, inTimeOrder]);
    return createHmac('sha256', this.key).update(fields).update('\n').update(state).digest('base64url');
  }
}

/**
 * Whether `event`, read from the store, is still the event a snapshot (or any
 * verified checkpoint) ended on: same place, same hash, and that hash still
 * its content's. One event, one SHA-256: what makes a snapshot usable.
 */
export function stillStored(event: ChainedEvent | undefined, head: StreamHead): boolean {
  return (
    event !== undefined &&
    event.version === head.version &&
    event.hash === head.hash &&
    hashEvent(event.prevHash, event) === event.hash
  );
}
