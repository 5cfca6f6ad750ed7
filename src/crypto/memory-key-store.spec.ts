import { describeKeyStoreContract } from './key-store.contract.js';
import { MemoryKeyStore } from './memory-key-store.js';

describeKeyStoreContract('memory', async () => {
  const keyStore = new MemoryKeyStore();
  return { keyStore, cleanup: () => keyStore.close() };
});
