import type pg from 'pg';
import { isTransientPostgresError } from './postgres.errors.js';

/**
 * Runs `work` on one connection of the pool and gives it back. A connection
 * that broke, or whose transaction state is unknown (`work` failed and says
 * so by `discard`), is destroyed instead of going back to the pool. While
 * checked out the connection has an error listener: the driver emits an
 * error event when the server ends a busy connection, which would otherwise
 * crash the process.
 */
export async function withConnection<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient, discard: (reason: Error) => void) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error): void => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    return await work(client, onError);
  } catch (error) {
    if (isTransientPostgresError(error)) broken ??= error as Error;
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}
