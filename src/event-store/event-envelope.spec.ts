import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../common/canonical-json.js';
import {
  EMPTY_STREAM_HEAD,
  GENESIS_HASH,
  chainEvents,
  hashEvent,
  hashedBody,
  verifyChain,
  type NewEvent,
} from './event-envelope.js';

const newEvent = (n: number, data: NewEvent['data'] = { siteId: 's1', n }): NewEvent => ({
  eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  type: n === 1 ? 'SiteRegistered' : 'SiteSuspended',
  data,
  metadata: {
    actor: 'op',
    occurredAt: `2025-01-01T00:00:0${n}.000Z`,
    correlationId: 'c',
    causationId: null,
    reason: 'why',
  },
});

describe('the event hash', () => {
  it('is SHA-256 over prevHash and the canonical JSON of the six hashed fields (README)', () => {
    const event = {
      ...newEvent(1, { siteId: 's1', contacts: [{ sealed: 'v1.a.b.c' }], region: null }),
      streamId: 'site-s1',
      version: 1,
    };
    const definition = canonicalJson({
      streamId: event.streamId,
      version: event.version,
      eventId: event.eventId,
      type: event.type,
      data: event.data,
      metadata: event.metadata,
    });
    expect(hashedBody(event)).toBe(definition);
    expect(hashEvent(GENESIS_HASH, event)).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + definition)
        .digest('hex'),
    );
  });

  it('does not change for a known event (stored chains must keep verifying)', () => {
    const [first] = chainEvents('site-s1', EMPTY_STREAM_HEAD, [newEvent(1)]);
    // Computed once from the canonical body below; a change here breaks every stored chain.
    expect(first!.hash).toBe('80cb66960b120840887cd1b7c09933a833b37aa629467eda2f2a14230d6087a5');
    expect(hashedBody(first!)).toBe(
      '{"data":{"n":1,"siteId":"s1"},"eventId":"00000000-0000-4000-8000-000000000001",' +
        '"metadata":{"actor":"op","causationId":null,"correlationId":"c","occurredAt":"2025-01-01T00:00:01.000Z","reason":"why"},' +
        '"streamId":"site-s1","type":"SiteRegistered","version":1}',
    );
  });

  it('chains events into a stream that verifies, each linked to the one before', () => {
    const chained = chainEvents('site-s1', EMPTY_STREAM_HEAD, [newEvent(1), newEvent(2), newEvent(3)]);
    expect(chained.map((event) => event.version)).toEqual([1, 2, 3]);
    expect(chained[1]!.prevHash).toBe(chained[0]!.hash);
    expect(Object.keys(chained[0]!)).toEqual([
      'eventId',
      'type',
      'data',
      'metadata',
      'streamId',
      'version',
      'prevHash',
      'hash',
    ]);
    expect(verifyChain(chained)).toEqual({ ok: true, head: { version: 3, hash: chained[2]!.hash } });
    const tampered = chained.map((event, i) => (i === 1 ? { ...event, data: { siteId: 's1', n: 99 } } : event));
    expect(verifyChain(tampered)).toMatchObject({ ok: false, brokenAt: { version: 2 } });
  });
});
