import { Inject, Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError } from '../common/domain-error.js';
import { PartialAppendError, WrongExpectedVersionError } from '../event-store/event-store.errors.js';
import { EVENT_STORE, type AppendResult, type EventStore, type StreamAppend } from '../event-store/event-store.port.js';
import { isLedgerStream } from '../event-store/ledger-streams.js';
import { LedgerMetrics } from '../observability/ledger-metrics.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { commandLine, outcomeOf, type CommandLabel, type CommandOutcome } from './command-log.js';
import { noteRecordedPosition } from './recorded-position.js';

/** What one attempt of a command decided, from the state it loaded. */
export interface Decision<Answer> {
  /**
   * What to record, committed all or nothing, each append at the version
   * its stream was loaded at. No events at all: nothing is recorded (a dry
   * run, a change that was already true) and the answer comes at once.
   */
  appends: readonly StreamAppend[];
  /** The answer, once what was decided is committed and the read models include it. */
  answer(): Answer;
}

/**
 * What to do when another writer changed a stream between an attempt's
 * load and its append: load and decide again, a little later each time
 * (exponential backoff with full jitter, so racing writers spread out
 * instead of colliding again in step). Every command has the same policy;
 * the decider re-checks every rule on the fresh state, and a command that
 * pinned a version (If-Match) fails its own check on the next attempt.
 */
export const CONFLICT_RETRY = {
  /** Attempts in all, the first included; then ConcurrentChangeError (409). */
  attempts: 10,
  /** The n-th retry waits a random time below min(maxDelayMs, baseDelayMs × 2^(n-1)). */
  baseDelayMs: 2,
  maxDelayMs: 100,
} as const;

/**
 * The one write path. Every command of the ledger (site commands, revert,
 * operation commands, a wave, the purge switch, a purge) goes through
 * `execute`: load → pure decide → append with the expected versions →
 * on a conflicting writer, the same again on fresh state → wait until the
 * read models include the change (read-your-writes: once a command has
 * answered, lists, plans and the audit see it) → answer. Each command gets
 * one log line and counts in `tenant_ledger_commands_total` (command-log.ts).
 */
@Injectable()
export class CommandCore {
  private readonly logger = new Logger('Command');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly readModels: ProjectionRunner,
    private readonly metrics: LedgerMetrics,
  ) {}

  /**
   * @param command what is run, by whom, for the log line and the metrics.
   * @param attempt loads what the command needs and decides; it runs once
   *   per attempt, so it must read everything afresh and write nothing.
   * @throws ConcurrentChangeError after CONFLICT_RETRY.attempts lost races;
   *   whatever `attempt` throws (a broken rule) as it is.
   */
  async execute<Answer>(command: CommandLabel, attempt: () => Promise<Decision<Answer>>): Promise<Answer> {
    const started = performance.now();
    let written: AppendResult[] = [];
    try {
      const answer = await this.run(attempt, (appends, results) => {
        written = results.filter((_, i) => appends[i]!.events.length > 0);
        this.metrics.recorded(appends.flatMap((append) => append.events));
      });
      this.report(command, { outcome: written.length > 0 ? 'ok' : 'unchanged' }, written, started);
      return answer;
    } catch (error) {
      this.report(command, outcomeOf(error), written, started);
      throw error;
    }
  }

  private report(
    command: CommandLabel,
    ended: { outcome: CommandOutcome; code?: string },
    written: readonly AppendResult[],
    started: number,
  ): void {
    this.metrics.commands.inc({ type: command.type, outcome: ended.outcome });
    const line = commandLine(command, ended, written, performance.now() - started);
    this.logger[line.level](line.fields, line.message);
  }

  private async run<Answer>(
    attempt: () => Promise<Decision<Answer>>,
    committed: (appends: readonly StreamAppend[], results: readonly AppendResult[]) => void,
  ): Promise<Answer> {
    for (let tried = 1; ; tried += 1) {
      const decision = await attempt();
      if (!decision.appends.some((append) => append.events.length > 0)) return decision.answer();
      let results: AppendResult[];
      try {
        results = await this.appendAll(decision.appends);
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        if (tried >= CONFLICT_RETRY.attempts) throw new ConcurrentChangeError(error.streamId, tried);
        await sleep(retryDelayMs(tried));
        continue;
      }
      committed(decision.appends, results);
      const position = lastInLedger(decision.appends, results);
      if (position !== undefined) {
        noteRecordedPosition(position);
        await this.readModels.waitFor(position);
      }
      return decision.answer();
    }
  }

  /**
   * `appendMany`, carried through on an engine that commits stream by
   * stream (EventStoreDB): after a PartialAppendError the rest is appended
   * as decided, each at its expected version. A conflict there is a lost
   * race like any other; the next attempt decides on what was committed.
   */
  private async appendAll(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    const done: AppendResult[] = [];
    for (;;) {
      try {
        return [...done, ...(await this.store.appendMany(appends.slice(done.length)))];
      } catch (error) {
        if (!(error instanceof PartialAppendError) || error.completed.length === 0) throw error;
        done.push(...error.completed);
      }
    }
  }
}

/**
 * The position of the last event appended to the ledger's global order,
 * which is what read models reach: an append without events only checked
 * its stream's version, and streams outside the ledger (ID claims) are
 * never applied, so waiting for one of theirs would wait for the next
 * unrelated event.
 */
function lastInLedger(appends: readonly StreamAppend[], results: readonly AppendResult[]): string | undefined {
  for (let i = appends.length - 1; i >= 0; i -= 1) {
    if (appends[i]!.events.length > 0 && isLedgerStream(appends[i]!.streamId)) return results[i]!.position;
  }
  return undefined;
}

function retryDelayMs(retry: number): number {
  const ceiling = Math.min(CONFLICT_RETRY.maxDelayMs, CONFLICT_RETRY.baseDelayMs * 2 ** (retry - 1));
  return Math.random() * ceiling;
}

/**
 * Other writers kept changing what a command decided on. Nothing of it was
 * recorded (on an engine that commits stream by stream, possibly a part,
 * which the retried request sees and decides on); the request may be retried.
 */
export class ConcurrentChangeError extends DomainError {
  constructor(
    readonly streamId: string,
    attempts: number,
  ) {
    super(
      'conflict',
      'ledger.concurrent-change',
      `${streamId} kept changing under this request (${attempts} attempts); retry it`,
    );
  }
}
