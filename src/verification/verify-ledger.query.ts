import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { LedgerVerifier, type VerificationReport } from './ledger-verifier.js';

/** Recompute every stream's hash chain; with a kept checkpoint, also prove the log extends it. */
export class VerifyLedgerQuery extends Query<VerificationReport> {
  constructor(readonly checkpoint?: string) {
    super();
  }
}

@QueryHandler(VerifyLedgerQuery)
export class VerifyLedgerHandler implements IQueryHandler<VerifyLedgerQuery> {
  constructor(private readonly verifier: LedgerVerifier) {}

  execute(query: VerifyLedgerQuery): Promise<VerificationReport> {
    return this.verifier.verify(query.checkpoint);
  }
}
