import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_STORE, type EventStore } from '../src/event-store/event-store.port.js';
import { decideOperation } from '../src/operations/domain/operation.decider.js';
import { OperationStreams } from '../src/operations/operation-streams.js';
import type { OperationSitePolicies } from '../src/operations/domain/operation.sites.js';
import { OPERATION_POLICIES } from '../src/operations/operations.tokens.js';
import { decideSite } from '../src/sites/domain/site.decider.js';
import { SiteStreams } from '../src/sites/site-streams.js';
import { siteStreamId } from '../src/event-store/ledger-streams.js';
import { startTestApp } from './support/test-app.js';
import {
  approve,
  continueUntilCompleted,
  planDeletion,
  registerSites,
  siteIdsFor,
  waitForStatus,
} from './support/operations.js';

describe('crash safety of deletion waves', () => {
  it('a wave cut short mid-way resumes after a restart and deletes no site twice', async () => {
    const first = await startTestApp();
    const dataDir = first.config.dataDir;
    try {
      const ids = siteIdsFor('c', 12); // waves: canary 5, customer 7
      await registerSites(first, ids);
      const operation = await planDeletion(first, ids);
      await approve(first, operation, 'approver').expect(200);
      await approve(first, operation, 'approver2').expect(200);
      await first
        .http()
        .post(`/v1/operations/${operation.operationId}/execute`)
        .set('Authorization', first.auth('operator'))
        .send({ digest: operation.digest })
        .expect(202);
      await waitForStatus(first, operation.operationId, 'paused');

      // What a crash leaves on a store without multi-stream transactions: the
      // operation was continued and 3 of wave 2's 7 sites were written, then the process died.
      const store = first.app.get<EventStore>(EVENT_STORE);
      const operations = first.app.get(OperationStreams);
      const sites = first.app.get(SiteStreams);
      const now = new Date().toISOString();
      const context = {
        principal: { id: 'operator', roles: new Set<never>() },
        correlationId: 'crash',
        causationId: null,
      };
      const policies = first.app.get<OperationSitePolicies>(OPERATION_POLICIES);
      const loaded = await operations.load(operation.operationId);
      const continued = decideOperation(
        {
          type: 'ContinueOperation',
          data: { operationId: operation.operationId },
          metadata: { now, actor: { id: 'operator' } },
        },
        loaded.state,
        policies.operation,
      );
      await store.appendMany([operations.change(operation.operationId, loaded, continued, context, now).append]);
      const written = ids.slice(5, 8);
      for (const siteId of written) {
        const site = await sites.load(siteId);
        const events = decideSite(
          {
            type: 'SoftDeleteSite',
            data: { siteId, operationId: operation.operationId },
            metadata: { now, actor: { id: 'operator', admin: false } },
          },
          site.state,
          policies.site,
        );
        await store.append(siteStreamId(siteId), site.version, await sites.prepare(siteId, events, context, now));
      }
      await first.app.close();

      const second = await startTestApp({ dataDir });
      try {
        const done = await waitForStatus(second, operation.operationId, 'completed');
        expect(done.progress).toEqual({ deleted: 12, skipped: 0, restored: 0, total: 12 });
        expect(done.waves[1]!.deleted).toEqual(ids.slice(5));
        const deletions = (await second.allEvents()).filter((event) => event.type === 'SiteSoftDeleted');
        expect(deletions).toHaveLength(12);
        expect(new Set(deletions.map((event) => event.streamId)).size).toBe(12);
      } finally {
        await second.app.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('an operation stopped right after execute resumes on the next start', async () => {
    const first = await startTestApp();
    const dataDir = first.config.dataDir;
    try {
      const ids = siteIdsFor('d', 8);
      await registerSites(first, ids, { internal: 2 });
      const operation = await planDeletion(first, ids);
      await approve(first, operation).expect(200);
      await first
        .http()
        .post(`/v1/operations/${operation.operationId}/execute`)
        .set('Authorization', first.auth('operator'))
        .send({ digest: operation.digest })
        .expect(202);
      await first.app.close(); // wherever the wave was, it stops at its next safe point

      const second = await startTestApp({ dataDir });
      try {
        const done = await continueUntilCompleted(second, operation.operationId);
        expect(done.progress.deleted).toBe(8);
        const deletions = (await second.allEvents()).filter((event) => event.type === 'SiteSoftDeleted');
        expect(new Set(deletions.map((event) => event.streamId)).size).toBe(deletions.length);
        expect(deletions).toHaveLength(8);
      } finally {
        await second.app.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
