import pg from 'pg';
import type { CommitNotifier } from '../adapter-kit.js';
import { COMMITS_CHANNEL } from './postgres.schema.js';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * Turns the NOTIFY of every append, whichever process made it, into a
 * wake-up of this store's waiting subscribers, so they read new events at
 * once instead of at their next poll. It only speeds delivery up: a
 * notification lost while the connection is down costs at most one poll
 * interval, because subscribers poll anyway.
 *
 * A dedicated connection (LISTEN holds its session for good, so it is not
 * taken from the pool), opened at the first subscription and reopened with
 * backoff whenever it drops (a server restart, a network cut), until `close()`.
 */
export class CommitListener {
  #client: pg.Client | undefined;
  /** The attempt under way, so that `close()` can wait for it. */
  #connecting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #started = false;
  #closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly notifier: CommitNotifier,
    private readonly warn: (message: string) => void,
  ) {}

  /** Starts listening, in the background, once. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#connecting = this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Never rejects: a failure schedules the next attempt. */
  async #connect(): Promise<void> {
    let client: pg.Client | undefined;
    try {
      client = new pg.Client(this.config);
      const connecting = client;
      connecting.on('notification', () => this.notifier.notify());
      connecting.on('error', (error) => this.#lost(connecting, error));
      connecting.on('end', () => this.#lost(connecting, new Error('the connection ended')));
      await connecting.connect();
      await connecting.query(`LISTEN ${COMMITS_CHANNEL}`);
    } catch (error) {
      await client?.end().catch(() => undefined);
      this.#scheduleRetry(error);
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    if (this.#failures > 0) this.warn('the LISTEN connection to PostgreSQL is back');
    this.#client = client;
    this.#failures = 0;
    // Commits made while nobody listened were not announced: read again.
    this.notifier.notify();
  }

  #lost(client: pg.Client, error: Error): void {
    if (client !== this.#client) return; // one that failed while connecting, or was closed by us
    this.#client = undefined;
    client.end().catch(() => undefined);
    this.#scheduleRetry(error);
  }

  #scheduleRetry(error: unknown): void {
    if (this.#closed) return;
    const delayMs = Math.min(FIRST_RETRY_MS * 2 ** this.#failures, MAX_RETRY_MS);
    if (this.#failures === 0) {
      this.warn(
        `the LISTEN connection to PostgreSQL failed (${error instanceof Error ? error.message : String(error)}); subscriptions poll until it is back`,
      );
    }
    this.#failures += 1;
    this.#retry = setTimeout(() => {
      this.#connecting = this.#connect();
    }, delayMs);
    this.#retry.unref();
  }
}
