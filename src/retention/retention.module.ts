import { Module } from '@nestjs/common';
import { SitesModule } from '../sites/sites.module.js';
import { PolicyController } from './policy.controller.js';
import { PurgePolicy } from './purge-policy.service.js';
import { RetentionSweeper } from './retention-sweeper.js';

@Module({
  imports: [SitesModule],
  controllers: [PolicyController],
  providers: [PurgePolicy, RetentionSweeper],
  exports: [RetentionSweeper],
})
export class RetentionModule {}
