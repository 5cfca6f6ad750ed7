import { Module } from '@nestjs/common';
import { TransparencyLogModule } from '../transparency-log/transparency-log.module.js';
import { LedgerVerifier } from './ledger-verifier.js';
import { VerificationController } from './verification.controller.js';
import { VerifyLedgerHandler } from './verify-ledger.query.js';

/** GET /v1/ledger/verify. */
@Module({
  imports: [TransparencyLogModule],
  controllers: [VerificationController],
  providers: [LedgerVerifier, VerifyLedgerHandler],
})
export class VerificationModule {}
