import { Inject, Injectable } from '@nestjs/common';
import { verifyChain, type StreamHead } from '../event-store/event-envelope.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { yieldToEventLoop } from '../http/response-stream.js';

export interface BrokenLink {
  streamId: string;
  version: number;
  eventId: string;
}

export interface VerificationReport {
  /** Every stream's chain holds. */
  ok: boolean;
  /** Streams seen. */
  streams: number;
  /** Events checked. */
  events: number;
  /** Position of the last event checked: the report covers the ledger up to here. */
  lastPosition?: string;
  /** The first event, in global order, whose link, place or hash does not hold. */
  brokenAt?: BrokenLink;
}

/** Events read from the store at a time. */
const PAGE = 5000;

/**
 * Recomputes every stream's hash chain from the store itself (never from a
 * read model, which an attacker with file access could edit as well).
 *
 * One pass over the global order in pages, keeping only each stream's head
 * (version and hash): memory grows with the number of streams, never with
 * the number of events. After a broken event the stream is followed on from
 * that event as stored, so the pass still counts every stream and event.
 */
@Injectable()
export class LedgerVerifier {
  /** Requests arriving during a pass share it: a pass reads the whole ledger. */
  private running: Promise<VerificationReport> | undefined;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  verify(): Promise<VerificationReport> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<VerificationReport> {
    const heads = new Map<string, StreamHead>();
    let events = 0;
    let brokenAt: BrokenLink | undefined;
    let after: string | undefined;
    for (;;) {
      const page = await this.store.readAll({ after, limit: PAGE });
      for (const event of page) {
        const check = verifyChain([event], heads.get(event.streamId));
        if (!check.ok) brokenAt ??= check.brokenAt;
        heads.set(event.streamId, { version: event.version, hash: event.hash });
        events += 1;
      }
      const last = page.at(-1);
      if (last === undefined) break;
      after = last.position;
      // Hashing a page takes a while; let requests in between.
      await yieldToEventLoop();
    }
    return {
      ok: brokenAt === undefined,
      streams: heads.size,
      events,
      ...(after === undefined ? {} : { lastPosition: after }),
      ...(brokenAt === undefined ? {} : { brokenAt }),
    };
  }
}
