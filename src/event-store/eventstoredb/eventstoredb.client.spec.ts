import { describe, expect, it } from 'vitest';
import { connectionUser, openEventStoreDbClient } from './eventstoredb.client.js';

// No server is needed: the client connects only at its first call.
describe('openEventStoreDbClient', () => {
  it.each([
    'esdb://localhost:2113?tls=false&throwOnAppendFailure=false',
    'esdb://localhost:2113?throw_on_append_failure=false&tls=false',
    'esdb://admin:changeit@node1:2113,node2:2113?ThrowOnAppendFailure= false',
  ])('refuses throwOnAppendFailure=false (%s)', (connectionString) => {
    expect(() => openEventStoreDbClient(connectionString)).toThrow(/throwOnAppendFailure=false/);
  });

  it.each([
    'esdb://localhost:2113?tls=false',
    'esdb://localhost:2113?tls=false&throwOnAppendFailure=true',
    // A password may hold what looks like a setting.
    'esdb://ledger:a?throwOnAppendFailure=false@localhost:2113?tls=false',
  ])('builds a client otherwise (%s)', async (connectionString) => {
    const client = openEventStoreDbClient(connectionString);
    await client.dispose();
  });
});

describe('connectionUser', () => {
  it('is the user the connection string authenticates as', () => {
    expect(connectionUser('esdb://ledger:s3cr/t?x@node1:2113?tls=true')).toBe('ledger');
    expect(connectionUser('esdb+discover://svc%20ledger:pw@cluster')).toBe('svc ledger');
    expect(connectionUser('esdb://localhost:2113?tls=false')).toBeUndefined();
  });
});
