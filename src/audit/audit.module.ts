import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller.js';
import { ExportAuditEventsHandler, GetAuditEventsHandler } from './audit.queries.js';

/** GET /v1/audit/events, answered from the audit index (kept by the read-model engine; app.module.ts registers it). */
@Module({
  controllers: [AuditController],
  providers: [GetAuditEventsHandler, ExportAuditEventsHandler],
})
export class AuditModule {}
