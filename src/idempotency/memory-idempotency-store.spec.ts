import { describeIdempotencyStoreContract } from './idempotency-store.contract.js';
import { MemoryIdempotencyStore } from './memory-idempotency-store.js';

describeIdempotencyStoreContract(
  'memory',
  async () => ({ store: new MemoryIdempotencyStore(), cleanup: async () => undefined }),
  { durable: false },
);
