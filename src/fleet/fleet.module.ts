import { Module } from '@nestjs/common';
import { FleetController } from './fleet.controller.js';
import { GetFleetStatsHandler, ListSitesHandler } from './fleet.queries.js';

/** GET /v1/sites and GET /v1/stats, answered from the fleet read model (kept by the read-model engine; app.module.ts registers it). */
@Module({
  controllers: [FleetController],
  providers: [ListSitesHandler, GetFleetStatsHandler],
})
export class FleetModule {}
