import { join } from 'node:path';
import { chainEvents, EMPTY_STREAM_HEAD, type NewEvent } from '../../src/event-store/event-envelope.js';
import { siteStreamId } from '../../src/event-store/ledger-streams.js';
import type { JsonObject } from '../../src/common/json.js';
import { BENCH_CONTEXT, benchSiteId, openLedger, registration, timeOf } from './fixtures.js';
import { tempDir } from './harness.js';
import { createKeys } from './keys.js';

/**
 * What one registration's envelope costs, step by step, in µs per event:
 * the per-event costs BENCHMARKS.md quotes beside the append figures. Each
 * step runs over `count` registrations (their keys already in keys.db, as
 * the append figures have them), `rounds` times; the median round counts.
 */
export async function envelopeCosts(count: number, rounds = 5): Promise<Record<string, string>> {
  const data = tempDir('envelope-costs');
  try {
    const siteIds = Array.from({ length: count }, (_, i) => benchSiteId('env', i));
    createKeys(join(data.dir, 'keys.db'), siteIds);
    const keyed = openLedger(data.dir);
    try {
      const plain = siteIds.map((siteId, i) => registration(siteId, i).data as unknown as JsonObject);
      const contacts = (plain[0]!['contacts'] as unknown[]).length;
      const prepared: NewEvent[] = [];
      for (const [i, siteId] of siteIds.entries()) {
        prepared.push(...(await keyed.streams.prepare(siteId, [registration(siteId, i)], BENCH_CONTEXT, timeOf(0))));
      }
      const perEvent = async (step: () => Promise<unknown> | unknown): Promise<number> => {
        const times: number[] = [];
        for (let round = 0; round < rounds + 1; round += 1) {
          const start = performance.now();
          await step();
          if (round > 0) times.push(((performance.now() - start) * 1000) / count); // round 0 warms up
        }
        return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
      };
      const lookup = await perEvent(async () => {
        for (const siteId of siteIds) await keyed.keys.obtainKey(siteId);
      });
      const protect = await perEvent(async () => {
        for (const [i, siteId] of siteIds.entries()) await keyed.codec.protect(siteId, plain[i]!);
      });
      const chain = await perEvent(() => {
        for (const event of prepared)
          chainEvents(siteStreamId(event.data['siteId'] as string), EMPTY_STREAM_HEAD, [event]);
      });
      const serialise = await perEvent(() => {
        for (const event of prepared) {
          JSON.stringify(event.data);
          JSON.stringify(event.metadata);
        }
      });
      const us = (value: number) => `${value.toFixed(2)} µs`;
      const label = `median of ${rounds} passes over ${count.toLocaleString('en-US')} registrations`;
      return {
        [`envelope per event: data-key lookup in keys.db (KeyStore.obtainKey, key exists)`]: `${us(lookup)} (${label})`,
        [`envelope per event: sealing ${contacts} contacts (PersonalDataCodec.protect minus the key lookup)`]: `${us(protect - lookup)}, ${us((protect - lookup) / contacts)} per contact (${label})`,
        [`envelope per event: canonical JSON + SHA-256 chain (chainEvents, one event)`]: `${us(chain)} (${label})`,
        [`envelope per event: JSON serialisation of data and metadata (JSON.stringify)`]: `${us(serialise)} (${label})`,
      };
    } finally {
      await keyed.close();
    }
  } finally {
    data.dispose();
  }
}
