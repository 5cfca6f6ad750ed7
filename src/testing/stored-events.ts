import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../common/json.js';
import type { EventMetadata, StoredEvent } from '../event-store/event-envelope.js';

/**
 * Stored events for projection specs: projections trust the store's chain,
 * so hashes here are placeholders; positions count up like the sqlite store's.
 */
export class StoredEventFactory {
  private position = 0;
  private readonly versions = new Map<string, number>();

  event(
    streamId: string,
    type: string,
    data: JsonObject,
    occurredAt: string,
    metadata: Partial<EventMetadata> = {},
  ): StoredEvent {
    const version = (this.versions.get(streamId) ?? 0) + 1;
    this.versions.set(streamId, version);
    this.position += 1;
    return {
      eventId: randomUUID(),
      type,
      streamId,
      version,
      data,
      metadata: { actor: 'operator', occurredAt, correlationId: 'c', causationId: null, ...metadata },
      prevHash: '0'.repeat(64),
      hash: '0'.repeat(64),
      position: String(this.position),
    };
  }

  /** A SiteRegistered as SiteStreams writes it (contacts sealed). */
  registered(siteId: string, occurredAt: string, facts: { customerId?: string; internal?: boolean } = {}): StoredEvent {
    return this.event(
      `site-${siteId}`,
      'SiteRegistered',
      {
        siteId,
        customerId: facts.customerId ?? 'cust-1',
        name: `Site ${siteId}`,
        region: null,
        internal: facts.internal ?? false,
        products: [],
        contacts: [{ sealed: 'v1.iv.ciphertext.tag' }],
        deletionProtection: false,
        retention: 'P30D',
      },
      occurredAt,
    );
  }
}
