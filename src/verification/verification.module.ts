import { Module } from '@nestjs/common';
import { LedgerVerifier } from './ledger-verifier.js';
import { VerificationController } from './verification.controller.js';
import { VerifyLedgerHandler } from './verify-ledger.query.js';

/** GET /v1/ledger/verify. */
@Module({
  controllers: [VerificationController],
  providers: [LedgerVerifier, VerifyLedgerHandler],
})
export class VerificationModule {}
