import type { Recorded } from '../../common/recorded.js';

/** Stream `policy-purge`: the switch that freezes all purging — the first move in an incident. */
export type PurgePolicyEvent =
  | { type: 'PurgingPaused'; data: { reason: string; by: string } }
  | { type: 'PurgingResumed'; data: { reason: string; by: string } };

export interface PurgePolicyState {
  paused: boolean;
  reason: string | null;
  changedBy: string | null;
  changedAt: string | null;
  version: number;
}

export const initialPurgePolicy: PurgePolicyState = {
  paused: false,
  reason: null,
  changedBy: null,
  changedAt: null,
  version: 0,
};

export interface SetPurgePaused {
  type: 'SetPurgePaused';
  data: { paused: boolean; reason: string };
  metadata: { actor: { id: string } };
}

/** Records a change only when the switch moves: repeating a freeze is not a new event. */
export function decidePurgePolicy(command: SetPurgePaused, state: PurgePolicyState): PurgePolicyEvent[] {
  const { paused, reason } = command.data;
  if (paused === state.paused) return [];
  const data = { reason, by: command.metadata.actor.id };
  return [paused ? { type: 'PurgingPaused', data } : { type: 'PurgingResumed', data }];
}

export function evolvePurgePolicy(state: PurgePolicyState, event: Recorded<PurgePolicyEvent>): PurgePolicyState {
  switch (event.type) {
    case 'PurgingPaused':
    case 'PurgingResumed':
      return {
        paused: event.type === 'PurgingPaused',
        reason: event.data.reason,
        changedBy: event.data.by,
        changedAt: event.occurredAt,
        version: event.version,
      };
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled purge policy event ${JSON.stringify(unhandled)}`);
    }
  }
}
