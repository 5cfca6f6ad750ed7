import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../common/canonical-json.js';
import { EMPTY_STREAM_HEAD, chainEvents, hashEvent, hashedBody } from '../event-store/event-envelope.js';
import type { StoredEvent } from '../event-store/event-envelope.js';
import { leafBytes, leafHashOf } from './leaf.js';
import { hashLeaf } from './merkle.js';

const [first, second] = chainEvents('site-1', EMPTY_STREAM_HEAD, [
  {
    eventId: 'e-1',
    type: 'SiteRegistered',
    data: { name: 'Site', contacts: 'v1.aXY.c2VhbGVk.dGFn' },
    metadata: { actor: 'user:a', occurredAt: '2026-12-01T00:00:00.000Z', correlationId: 'c-1', causationId: null },
  },
  {
    eventId: 'e-2',
    type: 'SiteSoftDeleted',
    data: {},
    metadata: {
      actor: 'user:b',
      occurredAt: '2026-12-01T00:01:00.000Z',
      correlationId: 'c-2',
      causationId: null,
      reason: 'r',
    },
  },
]);
const stored: StoredEvent = { ...first!, position: '17' };

describe('leaf bytes', () => {
  it('are the canonical JSON of the stored event, prevHash and hash included', () => {
    const { streamId, version, eventId, type, data, metadata, prevHash, hash } = first!;
    expect(leafBytes(first!).toString('utf8')).toBe(
      canonicalJson({ streamId, version, eventId, type, data, metadata, prevHash, hash }),
    );
    expect(leafHashOf(first!)).toEqual(hashLeaf(leafBytes(first!)));
  });

  it('hold what recomputes the chain: the hashed body plus prevHash and hash', () => {
    for (const event of [first!, second!]) {
      const leaf = JSON.parse(leafBytes(event).toString('utf8')) as typeof event;
      expect(hashEvent(leaf.prevHash, leaf)).toBe(leaf.hash);
      const { prevHash: _prevHash, hash: _hash, ...body } = leaf;
      expect(canonicalJson(body)).toBe(hashedBody(event));
    }
    expect(second!.prevHash).toBe(first!.hash);
  });

  it('leave out what only one store has (the position)', () => {
    expect(leafBytes(stored)).toEqual(leafBytes(first!));
    expect(leafBytes(stored).toString('utf8')).not.toContain('position');
  });

  it('take data as stored: a sealed value is hashed as the sealed string, so shredding its key changes no leaf', () => {
    expect(leafBytes(first!).toString('utf8')).toContain('"contacts":"v1.aXY.c2VhbGVk.dGFn"');
  });

  it('differ when any field differs, the link to the previous event included', () => {
    const variants = [
      { ...first!, prevHash: second!.hash },
      { ...first!, hash: second!.hash },
      { ...first!, version: 2 },
      { ...first!, streamId: 'site-2' },
      { ...first!, metadata: { ...first!.metadata, actor: 'user:z' } },
    ];
    for (const variant of variants) expect(leafHashOf(variant)).not.toEqual(leafHashOf(first!));
  });
});
