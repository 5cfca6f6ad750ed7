import { BACKWARDS, END } from '@eventstore/db-client';
import type { NewEvent, StoredEvent } from '../event-envelope.js';
import { EventStoreUnavailableError } from '../event-store.errors.js';
import type {
  AppendResult,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  StreamAppend,
  SubscribeAllOptions,
} from '../event-store.port.js';
import { LEDGER_STREAM_PREFIXES, SITE_KEY_STREAM_PREFIX } from '../ledger-streams.js';
import { LedgerAppends } from './eventstoredb.appends.js';
import { LEADER_READ, type EventStoreDbClient } from './eventstoredb.client.js';
import { toPortError } from './eventstoredb.errors.js';
import {
  compareEventStoreDbPositions,
  decodeEventStoreDbPosition,
  isEventStoreDbPosition,
} from './eventstoredb.positions.js';
import { LedgerReads } from './eventstoredb.reads.js';
import { ledgerSubscription } from './eventstoredb.subscription.js';

const PING_TIMEOUT_MS = 5_000;

export interface EventStoreDbEventStoreOptions {
  /**
   * Only streams whose names start with one of these appear in `readAll`,
   * `lastPosition` and `subscribeAll` (default: the ledger's streams). None
   * may expose `$` system streams or `sitekey-` key streams.
   */
  streamPrefixes?: readonly string[];
  /** Where skipped system records and resubscriptions are reported (default: console.warn). */
  warn?: (message: string) => void;
}

/**
 * The ledger on EventStoreDB (gRPC, `@eventstore/db-client` 6). Stream ids are
 * EventStoreDB stream names, one to one. One job per file beside this one:
 * the shared client (`.client`), positions (`.positions`), records
 * (`.codec`), errors (`.errors`), reads (`.reads`), appends (`.appends`,
 * where `appendMany` may end in `PartialAppendError`) and the subscription
 * (`.subscription`). The client belongs to whoever passed it in.
 */
export class EventStoreDbEventStore implements EventStore {
  private readonly prefixes: readonly string[];
  private readonly warn: (message: string) => void;
  private readonly reads: LedgerReads;
  private readonly appends: LedgerAppends;
  private readonly subscriptions = new Set<{ unsubscribe(): Promise<void> }>();
  private closed = false;

  constructor(
    private readonly client: EventStoreDbClient,
    options: EventStoreDbEventStoreOptions = {},
  ) {
    this.prefixes = [...(options.streamPrefixes ?? LEDGER_STREAM_PREFIXES)];
    for (const prefix of this.prefixes) {
      const exposesKeys = SITE_KEY_STREAM_PREFIX.startsWith(prefix) || prefix.startsWith(SITE_KEY_STREAM_PREFIX);
      if (prefix === '' || prefix.startsWith('$') || exposesKeys) {
        throw new RangeError(`stream prefix ${JSON.stringify(prefix)} would expose system or key streams`);
      }
    }
    this.warn = options.warn ?? ((message) => console.warn(message));
    this.reads = new LedgerReads(client, this.prefixes, this.warn);
    this.appends = new LedgerAppends(client, this.reads);
  }

  async append(streamId: string, expectedVersion: number, events: readonly NewEvent[]): Promise<AppendResult> {
    const [result] = await this.appendMany([{ streamId, expectedVersion, events }]);
    if (result === undefined) throw new Error('appendMany returned no result for one append');
    return result;
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    this.assertOpen();
    return this.appends.appendMany(appends);
  }

  async streamVersion(streamId: string): Promise<number> {
    this.assertOpen();
    return (await this.reads.headOf(streamId)).version;
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]> {
    this.assertOpen();
    return this.reads.readStream(streamId, options);
  }

  async readAll(options: ReadAllOptions): Promise<StoredEvent[]> {
    this.assertOpen();
    return this.reads.readAll(options);
  }

  subscribeAll(options: SubscribeAllOptions = {}): AsyncIterable<StoredEvent> {
    // Checked now, not at the first next(): a bad position is the caller's bug.
    const after = options.after === undefined ? undefined : decodeEventStoreDbPosition(options.after);
    return ledgerSubscription({
      client: this.client,
      prefixes: this.prefixes,
      after,
      signal: options.signal,
      isClosed: () => this.closed,
      track: this.subscriptions,
      decode: (record) => this.reads.decode(record),
      warn: this.warn,
    });
  }

  async lastPosition(): Promise<string | undefined> {
    this.assertOpen();
    return this.reads.lastPosition();
  }

  isPosition(value: string): boolean {
    return isEventStoreDbPosition(value);
  }

  comparePositions(a: string, b: string): number {
    return compareEventStoreDbPositions(a, b);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    // The permission readAll needs, one record. Streaming reads ignore the
    // client's deadline option, so the time limit is kept here.
    const read = this.client.readAll({
      ...LEADER_READ,
      direction: BACKWARDS,
      fromPosition: END,
      maxCount: 1,
    });
    const answered = (async () => {
      for await (const _record of read) break;
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new EventStoreUnavailableError(`EventStoreDB did not answer within ${PING_TIMEOUT_MS} ms`)),
        PING_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([answered, timedOut]);
    } catch (error) {
      // Whatever the reason, /health reports the store as not serving.
      const translated = toPortError(error, { action: 'ping' });
      throw translated instanceof EventStoreUnavailableError
        ? translated
        : new EventStoreUnavailableError(
            `EventStoreDB ping failed: ${translated instanceof Error ? translated.message : String(error)}`,
            { cause: error },
          );
    } finally {
      clearTimeout(timer);
      // The read may still be pending after a timeout; end it and drop its outcome.
      answered.catch(() => undefined);
      await read.cancel().catch(() => undefined);
    }
  }

  /**
   * Idempotent. Running subscriptions end; later calls fail with
   * EventStoreUnavailableError. The client stays open: its owner disposes it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.unsubscribe().catch(() => undefined)));
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailableError('the EventStoreDB event store is closed');
  }
}
