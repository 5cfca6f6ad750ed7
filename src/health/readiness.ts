import type { ProjectionRunner } from '../read-models/projection-runner.js';

/** What readiness is judged on. `lag` is undefined when the store did not answer. */
export interface ReadinessInputs {
  storeAnswers: boolean;
  readModels: ProjectionRunner['state'];
  lag: number | undefined;
  maxLag: number;
}

/**
 * Ready: the store answers, and the read models are live and at most
 * `maxLag` events behind it, so that a request routed here reads lists,
 * stats and the audit nearly as the ledger is. Otherwise why not.
 */
export function notReadyBecause({ storeAnswers, readModels, lag, maxLag }: ReadinessInputs): string | undefined {
  if (!storeAnswers || lag === undefined) return 'the event store does not answer';
  if (readModels !== 'live') return `the read models are ${readModels}`;
  if (lag > maxLag) return `the read models are ${lag} events behind the store (at most ${maxLag} allowed)`;
  return undefined;
}
