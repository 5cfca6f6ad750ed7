import { expect } from 'vitest';
import { pollUntil } from '../../src/testing/poll-until.js';
import type { AppUnderTest, TestPrincipal } from './test-app.js';

/** Registers sites through the API, a few at a time; `internal` marks the first n as the provider's own. */
export async function registerSites(
  t: AppUnderTest,
  siteIds: readonly string[],
  options: { internal?: number; retention?: string; productsPerSite?: number } = {},
): Promise<void> {
  const parallel = 16;
  for (let start = 0; start < siteIds.length; start += parallel) {
    await Promise.all(
      siteIds.slice(start, start + parallel).map(async (siteId, offset) => {
        const index = start + offset;
        const body = {
          siteId,
          customerId: `cust-${index % 700}`,
          name: `Site ${siteId}`,
          internal: index < (options.internal ?? 0),
          products: Array.from({ length: options.productsPerSite ?? 1 }, (_, p) => ({
            installationId: `app-${siteId}-${p}`,
            productKey: 'shop',
          })),
          contacts: [{ name: `Owner ${index}`, email: `owner${index}@example.com`, role: 'owner' }],
          ...(options.retention ? { retention: options.retention } : {}),
        };
        const response = await t.http().post('/v1/sites').set('Authorization', t.auth('operator')).send(body);
        expect(response.status, JSON.stringify(response.body)).toBe(201);
      }),
    );
  }
}

export const siteIdsFor = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

/** Plans a soft delete as `by` and returns the answer body (expects 201). */
export async function planDeletion(t: AppUnderTest, siteIds: readonly string[], by: TestPrincipal = 'operator') {
  const response = await t
    .http()
    .post('/v1/operations')
    .set('Authorization', t.auth(by))
    .send({ action: 'soft-delete', siteIds, reason: 'test deletion', ticket: 'OPS-1' });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as OperationBody;
}

export interface OperationBody {
  operationId: string;
  status: string;
  digest: string;
  requiredApprovals: number;
  waves: {
    index: number;
    kind: string;
    siteIds: string[];
    status: string;
    deleted: string[];
    skipped: { siteId: string; reason: string }[];
    startedAt: string | null;
    endedAt: string | null;
    continuedBy: string | null;
  }[];
  lastPosition: string;
  progress: { deleted: number; skipped: number; restored: number; total: number };
  [key: string]: unknown;
}

export function approve(t: AppUnderTest, operation: OperationBody, by: TestPrincipal = 'approver') {
  return t
    .http()
    .post(`/v1/operations/${operation.operationId}/approve`)
    .set('Authorization', t.auth(by))
    .send({ digest: operation.digest });
}

export async function getOperation(t: AppUnderTest, operationId: string): Promise<OperationBody> {
  const response = await t
    .http()
    .get(`/v1/operations/${operationId}`)
    .set('Authorization', t.auth('viewer'))
    .expect(200);
  return response.body as OperationBody;
}

/** Polls the operation until it reaches `status`. */
export function waitForStatus(
  t: AppUnderTest,
  operationId: string,
  status: string,
  timeoutMs = 20_000,
): Promise<OperationBody> {
  return waitForAny(t, operationId, [status], timeoutMs);
}

/** Runs an approved operation through every wave: execute, then continue after each pause. */
export async function runAllWaves(t: AppUnderTest, operation: OperationBody): Promise<OperationBody> {
  await t
    .http()
    .post(`/v1/operations/${operation.operationId}/execute`)
    .set('Authorization', t.auth('operator'))
    .send({ digest: operation.digest })
    .expect(202);
  return continueUntilCompleted(t, operation.operationId);
}

/** Continues a running or paused operation after each wave until it completes. */
export async function continueUntilCompleted(t: AppUnderTest, operationId: string): Promise<OperationBody> {
  for (;;) {
    const state = await waitForAny(t, operationId, ['paused', 'completed']);
    if (state.status === 'completed') return state;
    await t
      .http()
      .post(`/v1/operations/${operationId}/continue`)
      .set('Authorization', t.auth('operator'))
      .send({})
      .expect(202);
  }
}

/** Polls the operation until it reaches one of `statuses`. */
export function waitForAny(
  t: AppUnderTest,
  operationId: string,
  statuses: string[],
  timeoutMs = 20_000,
): Promise<OperationBody> {
  return pollUntil(() => getOperation(t, operationId), {
    what: `operation ${operationId} to be ${statuses.join(' or ')}`,
    done: (operation) => statuses.includes(operation.status),
    show: (operation) => operation.status,
    timeoutMs,
  });
}
