import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '../common/domain-error.js';
import type { NewEvent } from '../event-store/event-envelope.js';
import { PartialAppendError } from '../event-store/event-store.errors.js';
import { MemoryEventStore } from '../event-store/memory/memory-event-store.js';
import { LedgerMetrics } from '../observability/ledger-metrics.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { CommandCore, CONFLICT_RETRY, ConcurrentChangeError, type Decision } from './command-core.js';

const LABEL = {
  type: 'Count',
  context: { principal: { id: 'operator', roles: new Set<never>() }, correlationId: 'c', causationId: null },
};

/** tenant_ledger_commands_total{type="Count",outcome} as the metrics text shows it (0 when absent). */
async function commandsCounted(metrics: LedgerMetrics, outcome: string): Promise<number> {
  const line = (await metrics.text())
    .split('\n')
    .find((text) => text.startsWith(`tenant_ledger_commands_total{type="Count",outcome="${outcome}"} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

const event = (type = 'Counted'): NewEvent => ({
  eventId: randomUUID(),
  type,
  data: {},
  metadata: { actor: 'test', occurredAt: new Date().toISOString(), correlationId: 'c', causationId: null },
});

/** A command that appends one event to `streamId` at the version it reads, and answers that version. */
function countOn(store: MemoryEventStore, streamId: string, beforeAppend?: () => Promise<void>) {
  let attempts = 0;
  const attempt = async (): Promise<Decision<number>> => {
    attempts += 1;
    const version = await store.streamVersion(streamId);
    await beforeAppend?.();
    return { appends: [{ streamId, expectedVersion: version, events: [event()] }], answer: () => version + 1 };
  };
  return { attempt, attempts: () => attempts };
}

describe('CommandCore: the one write path', () => {
  // Each command logs a line; what they say is command-log.spec.ts's subject.
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(true));
  let store: MemoryEventStore;
  let runner: ProjectionRunner;
  let core: CommandCore;
  let metrics: LedgerMetrics;

  beforeEach(() => {
    store = new MemoryEventStore();
    // The real read-model runner (with no projections): what the core waits on is real.
    runner = new ProjectionRunner(store, []);
    runner.onApplicationBootstrap();
    metrics = new LedgerMetrics();
    core = new CommandCore(store, runner, metrics);
  });

  afterEach(async () => {
    await runner.beforeApplicationShutdown();
    runner.onApplicationShutdown();
    await store.close();
  });

  it('commits what one attempt decided and answers once the read models include it', async () => {
    const command = countOn(store, 'site-counter');
    expect(await core.execute(LABEL, command.attempt)).toBe(1);
    expect(command.attempts()).toBe(1);
    const last = await store.lastPosition();
    expect(last).toBeDefined();
    // No waiting here: the answer came only once the read models had applied the event.
    expect(runner.position).toBe(last);
  });

  it('decides again on fresh state when another writer got to the stream first', async () => {
    let interfere = true;
    const command = countOn(store, 'site-counter', async () => {
      if (!interfere) return;
      interfere = false;
      await store.append('site-counter', await store.streamVersion('site-counter'), [event('Other')]);
    });
    expect(await core.execute(LABEL, command.attempt)).toBe(2);
    expect(command.attempts()).toBe(2);
    expect((await store.readStream('site-counter')).map((stored) => stored.type)).toEqual(['Other', 'Counted']);
  });

  it(`gives up with 409 ledger.concurrent-change after ${CONFLICT_RETRY.attempts} lost races, having recorded nothing`, async () => {
    const command = countOn(store, 'site-counter', async () => {
      await store.append('site-counter', await store.streamVersion('site-counter'), [event('Other')]);
    });
    const error = await core.execute(LABEL, command.attempt).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ConcurrentChangeError);
    expect(error).toMatchObject({ kind: 'conflict', code: 'ledger.concurrent-change', streamId: 'site-counter' });
    expect(command.attempts()).toBe(CONFLICT_RETRY.attempts);
    expect((await store.readStream('site-counter')).every((stored) => stored.type === 'Other')).toBe(true);
  });

  it('commits several streams all or nothing: a conflict on one writes none, and the retry writes all', async () => {
    await store.append('site-b', 0, [event('Existing')]);
    let versionOfB = 0; // stale on the first attempt
    let attempts = 0;
    const answer = await core.execute(LABEL, async () => {
      attempts += 1;
      const decision = {
        appends: [
          { streamId: 'site-a', expectedVersion: await store.streamVersion('site-a'), events: [event()] },
          { streamId: 'site-b', expectedVersion: versionOfB, events: [event()] },
        ],
        answer: () => 'done',
      };
      versionOfB = await store.streamVersion('site-b');
      return decision;
    });
    expect(answer).toBe('done');
    expect(attempts).toBe(2);
    expect(await store.streamVersion('site-a')).toBe(1);
    expect(await store.streamVersion('site-b')).toBe(2);
  });

  it('carries a partly committed append through on an engine that commits stream by stream, writing nothing twice', async () => {
    // An engine like EventStoreDB: the first stream commits, then the connection drops.
    const appendMany = store.appendMany.bind(store);
    let failures = 0;
    store.appendMany = async (appends) => {
      if (appends.length < 2 || failures > 0) return appendMany(appends);
      failures += 1;
      const first = await appendMany(appends.slice(0, 1));
      throw new PartialAppendError(first, new Error('connection lost'));
    };
    let attempts = 0;
    const answer = await core.execute(LABEL, async () => {
      attempts += 1;
      return {
        appends: [
          { streamId: 'site-a', expectedVersion: 0, events: [event()] },
          { streamId: 'site-b', expectedVersion: 0, events: [event(), event()] },
        ],
        answer: () => 'done',
      };
    });
    expect(answer).toBe('done');
    expect(failures).toBe(1);
    expect(attempts).toBe(1);
    expect(await store.streamVersion('site-a')).toBe(1);
    expect(await store.streamVersion('site-b')).toBe(2);
    expect(runner.position).toBe(await store.lastPosition());
  });

  it('records nothing and answers at once when the decision holds no events', async () => {
    const answer = await core.execute(LABEL, async () => ({
      appends: [{ streamId: 'policy-purge', expectedVersion: 7, events: [] }],
      answer: () => 'unchanged',
    }));
    expect(answer).toBe('unchanged');
    expect(await store.lastPosition()).toBeUndefined();
  });

  it('does not retry a broken rule: the decider error reaches the caller as it is', async () => {
    let attempts = 0;
    const rule = new DomainError('conflict', 'site.legal-hold', 'held');
    await expect(
      core.execute(LABEL, async () => {
        attempts += 1;
        throw rule;
      }),
    ).rejects.toBe(rule);
    expect(attempts).toBe(1);
  });

  it('counts each command once by its outcome: ok, unchanged, refused, conflict', async () => {
    await core.execute(LABEL, countOn(store, 'site-counter').attempt);
    await core.execute(LABEL, async () => ({ appends: [], answer: () => undefined }));
    const refused = async () => Promise.reject(new DomainError('conflict', 'site.legal-hold', 'held'));
    await core.execute(LABEL, refused).catch(() => undefined);
    const losing = countOn(store, 'site-counter', async () => {
      await store.append('site-counter', await store.streamVersion('site-counter'), [event('Other')]);
    });
    await core.execute(LABEL, losing.attempt).catch(() => undefined);
    expect(await commandsCounted(metrics, 'ok')).toBe(1);
    expect(await commandsCounted(metrics, 'unchanged')).toBe(1);
    expect(await commandsCounted(metrics, 'refused')).toBe(1);
    expect(await commandsCounted(metrics, 'conflict')).toBe(1);
  });
});
