import { DomainError } from '../common/domain-error.js';
import type { ChainCheck } from '../event-store/event-envelope.js';

/**
 * A read found a stream whose hash chain does not hold: an event was
 * changed, moved or removed outside the service. The read answers this
 * instead of state folded from tampered events; the filter logs it at
 * error level (a 500: nothing the client did).
 */
export class LedgerTamperedError extends DomainError {
  constructor(readonly brokenAt: Extract<ChainCheck, { ok: false }>['brokenAt']) {
    const { streamId, version, eventId } = brokenAt;
    super(
      'integrity',
      'ledger.tampered',
      `the hash chain of stream ${streamId} does not hold at version ${version} (event ${eventId}); ` +
        'the stored ledger was changed outside the service, so no state is answered from it',
      undefined,
      { streamId, version, eventId },
    );
  }
}

/** Throws LedgerTamperedError unless the chain held. */
export function requireIntact(check: ChainCheck): Extract<ChainCheck, { ok: true }>['head'] {
  if (!check.ok) throw new LedgerTamperedError(check.brokenAt);
  return check.head;
}
