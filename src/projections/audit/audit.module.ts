import { Module } from '@nestjs/common';
import { EventViewer } from '../../ledger/event-viewer.js';
import { PersonalDataCodec } from '../../ledger/personal-data.codec.js';
import { SubscriptionsModule } from '../../subscriptions/subscriptions.module.js';
import { AuditController } from './audit.controller.js';
import { ExportAuditEventsHandler, GetAuditEventsHandler } from './audit.queries.js';

/** GET /v1/audit/events, answered from the audit index (ProjectionsModule keeps it). */
@Module({
  imports: [SubscriptionsModule],
  controllers: [AuditController],
  providers: [PersonalDataCodec, EventViewer, GetAuditEventsHandler, ExportAuditEventsHandler],
})
export class AuditModule {}
