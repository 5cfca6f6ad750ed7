import { describe, expect, it } from 'vitest';
import { approve, planDeletion, registerSites, runAllWaves, siteIdsFor } from './support/operations.js';
import { useTestApp } from './support/test-app.js';

/**
 * Concurrent rollbacks of one operation (issue 12, defect 4: 16 of them once
 * recorded 16 OperationRolledBack events, 14 restoring nothing). Each site
 * is restored once, and a rollback that restores nothing records nothing.
 */
describe('concurrent rollbacks', () => {
  const t = useTestApp();

  it('16 at once restore each site once and record one OperationRolledBack', async () => {
    const ids = siteIdsFor('race', 6);
    await registerSites(t, ids);
    const operation = await planDeletion(t, ids);
    await approve(t, operation).expect(200);
    await runAllWaves(t, operation);

    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        t
          .http()
          .post(`/v1/operations/${operation.operationId}/rollback`)
          .set('Authorization', t.auth('operator'))
          .send({ reason: `incident ${i}` }),
      ),
    );
    // A rollback that lost every retry answers 409 ledger.concurrent-change, having recorded nothing.
    const statuses = answers.map((answer) => answer.status);
    expect(
      statuses.every((status) => status === 200 || status === 409),
      String(statuses),
    ).toBe(true);
    const restoredBy = answers.filter((answer) => answer.status === 200).map((answer) => answer.body.restored);
    expect(restoredBy.flat().sort()).toEqual([...ids].sort());

    const events = await t.allEvents();
    expect(events.filter((event) => event.type === 'SiteRestored')).toHaveLength(ids.length);
    expect(events.filter((event) => event.type === 'OperationRolledBack')).toHaveLength(
      restoredBy.filter((restored) => restored.length > 0).length,
    );
    expect(restoredBy.filter((restored) => restored.length > 0).length).toBe(1);
  });
});
