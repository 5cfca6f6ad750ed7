import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Observable, from, mergeMap } from 'rxjs';
import { DomainError } from '../common/domain-error.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { type RecordedPosition, trackRecordedPosition } from '../ledger/recorded-position.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';

/** Answered by every command: the global position its change reached (SPEC §9). */
export const LEDGER_POSITION = 'Ledger-Position';
/** Sent with a read: answer only from read models that include this position. */
export const LEDGER_MIN_POSITION = 'Ledger-Min-Position';
/** How long a read waits for this instance's read models to reach `Ledger-Min-Position`. */
export const MIN_POSITION_WAIT_MS = 2_000;

const READS = new Set(['GET', 'HEAD']);

/**
 * Read-your-writes across instances behind a load balancer. Every instance
 * keeps its own read models, fed from the one shared ledger, so a client
 * that wrote through instance A and reads through B passes A's
 * `Ledger-Position` back as `Ledger-Min-Position`; B answers once its read
 * models include it, or says 503 `read-model.behind` after 2 s rather than
 * answer from older state. Positions are the same on every instance.
 */
@Injectable()
export class LedgerPositionInterceptor implements NestInterceptor {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly readModels: ProjectionRunner,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    if (READS.has(request.method)) return this.read(request, next);
    const response = http.getResponse<Response>();
    const record: RecordedPosition = {};
    // Subscribing inside the tracked scope runs the handler, and all it awaits, in it.
    return new Observable((subscriber) =>
      trackRecordedPosition(record, () =>
        next
          .handle()
          .pipe(
            mergeMap(async (answer: unknown) => {
              // A store gone since the command answered must not turn its answer into an error.
              const position = record.position ?? (await this.store.lastPosition().catch(() => undefined));
              if (position !== undefined && !response.headersSent) response.setHeader(LEDGER_POSITION, position);
              return answer;
            }),
          )
          .subscribe(subscriber),
      ),
    );
  }

  private read(request: Request, next: CallHandler): Observable<unknown> {
    const wanted = request.header(LEDGER_MIN_POSITION);
    if (wanted === undefined) return next.handle();
    return from(this.waitForReadModels(wanted.trim())).pipe(mergeMap(() => next.handle()));
  }

  private async waitForReadModels(position: string): Promise<void> {
    if (!this.store.isPosition(position)) {
      throw new DomainError(
        'invalid',
        'request.invalid-header',
        `${LEDGER_MIN_POSITION} must be a Ledger-Position this ledger answered`,
        [
          {
            field: LEDGER_MIN_POSITION,
            problem: 'not-a-position',
            detail: `"${position}" is not a position of this ledger`,
          },
        ],
      );
    }
    if (!(await this.readModels.waitFor(position, MIN_POSITION_WAIT_MS))) {
      throw new DomainError(
        'unavailable',
        'read-model.behind',
        `this instance's read models have not reached position ${position} within ${MIN_POSITION_WAIT_MS / 1000} s; retry, or read from another instance`,
        undefined,
        { position, reached: this.readModels.position ?? 'none' },
      );
    }
  }
}
