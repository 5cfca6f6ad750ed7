import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { LedgerVerifier, type VerificationReport } from './ledger-verifier.js';

/** Recompute every stream's hash chain. */
export class VerifyLedgerQuery extends Query<VerificationReport> {}

@QueryHandler(VerifyLedgerQuery)
export class VerifyLedgerHandler implements IQueryHandler<VerifyLedgerQuery> {
  constructor(private readonly verifier: LedgerVerifier) {}

  execute(): Promise<VerificationReport> {
    return this.verifier.verify();
  }
}
