import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { versionEtag } from '../http/etag.js';
import type { SnapshotFile } from '../snapshots/snapshot-file.js';
import { SNAPSHOT_FILE, SNAPSHOT_KEY, SnapshotsModule } from '../snapshots/snapshots.module.js';
import type { SitePolicy } from './domain/site.decider.js';
import { SiteCommandHandler } from './site-command.handler.js';
import { GetSiteHandler, GetSiteHistoryHandler } from './site.queries.js';
import { RevertSiteHandler } from './site-revert.handler.js';
import { IdNamespaces } from './id-namespaces.js';
import { SiteSnapshots } from './site-snapshots.js';
import { SiteStreams } from './site-streams.js';
import { SiteDeleteRefusalController } from './site-delete-refusal.controller.js';
import { SitesController } from './sites.controller.js';
import { SITE_POLICY } from './sites.tokens.js';

@Module({
  imports: [SnapshotsModule],
  controllers: [SitesController, SiteDeleteRefusalController],
  providers: [
    SiteStreams,
    {
      provide: SiteSnapshots,
      inject: [SNAPSHOT_FILE, SNAPSHOT_KEY],
      useFactory: (file: SnapshotFile, key: Buffer) => new SiteSnapshots(file, key),
    },
    IdNamespaces,
    SiteCommandHandler,
    RevertSiteHandler,
    GetSiteHandler,
    GetSiteHistoryHandler,
    {
      provide: SITE_POLICY,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig): SitePolicy => ({
        defaultRetention: config.retention,
        minRetention: config.minRetention,
      }),
    },
  ],
  exports: [SiteStreams, SITE_POLICY],
})
export class SitesModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(versionEtag).forRoutes(SitesController);
  }
}
