import { Logger } from '@nestjs/common';
import { siteStreamId } from '../event-store/ledger-streams.js';
import type { SnapshotFile } from '../snapshots/snapshot-file.js';
import { SnapshotSeal, type SealedSnapshot } from '../snapshots/snapshot.js';
import type { SiteState } from './domain/site.state.js';
import { DEFAULT_FOLD_CACHE_LIMITS, timeBoundOf, type SiteCheckpoint, type TimeBound } from './site-fold-cache.js';

/**
 * What a site snapshot's state is: SiteState as evolveSite folds it, contacts
 * sealed. Bump the number whenever SiteState or evolveSite change what a fold
 * holds (site-snapshots.spec.ts fails until you do): snapshots of the old
 * layout then no longer hold, and reads fold from the events again.
 */
export const SITE_SNAPSHOT_KIND = 'site-state/1';

/**
 * A snapshot every this many versions of a site stream: a read with the
 * service just started folds fewer events than this after one. The fold
 * cache's interval: once a process has folded past a snapshot, its cache
 * holds the same fold, so warm reads never look further than one query.
 */
export const SNAPSHOT_INTERVAL = DEFAULT_FOLD_CACHE_LIMITS.interval;

/**
 * Site folds kept in the instance's snapshot file, so a point-in-time read of
 * any site, at any moment, with the service just started, reads at most
 * about SNAPSHOT_INTERVAL events (SiteStreams.load).
 *
 * A snapshot is the fold cache's checkpoint (SiteCheckpoint) made durable:
 * contacts sealed as stored, never opened. Once a purge destroys the site's
 * key they stay sealed under a key nobody has, like the events, so a purge
 * leaves nothing in a snapshot that could reveal them.
 *
 * Nothing here is trusted as it is read: a snapshot whose MAC does not hold
 * (edited, forged, copied in from elsewhere) is refused, dropped with every
 * later one of its stream, and the read folds from the events (a file
 * written for an older layout or under another key is emptied when
 * opened). Whether the store still holds the event a snapshot ends on is
 * for the reader to check (SiteStreams), which refuses it here when not.
 */
export class SiteSnapshots {
  /** Snapshots refused so far (their MAC or their stored event did not hold). */
  refused = 0;
  readonly #seal: SnapshotSeal;

  constructor(
    readonly file: SnapshotFile,
    key: Buffer,
    readonly interval: number = SNAPSHOT_INTERVAL,
    private readonly warn: (message: string) => void = (message) => new Logger('Snapshots').warn(message),
  ) {
    this.#seal = new SnapshotSeal(key, SITE_SNAPSHOT_KIND);
    // A file of an older layout or another key is emptied at once: its snapshots were never tampered with.
    if (file.claim(this.#seal.owner))
      this.warn(`snapshot file ${file.file} held snapshots of another layout or key; emptied`);
  }

  /**
   * The newest snapshot a read up to `toVersion` and `toTimeMs` may start
   * from, if its MAC holds; only one after `afterVersion` (where the reader
   * can start already) is looked at.
   */
  best(siteId: string, toVersion: number, toTimeMs: number, afterVersion = 0): SiteCheckpoint | undefined {
    const sealed = this.file.best(siteStreamId(siteId), toVersion, toTimeMs, afterVersion);
    return sealed && this.#open(siteId, sealed);
  }

  /** For a read as of `toTimeMs`, the events the snapshots show happened after it (see timeBoundOf). */
  timeBound(siteId: string, toTimeMs: number): TimeBound | undefined {
    const streamId = siteStreamId(siteId);
    const newest = this.file.newest(streamId);
    const firstPast = newest && this.file.firstPast(streamId, toTimeMs);
    const bound = timeBoundOf(newest, firstPast, toTimeMs);
    // The bound rests on both snapshots' times: both must hold.
    if (!bound || !this.#holds(siteId, firstPast!) || !this.#holds(siteId, newest!)) return undefined;
    return bound;
  }

  /** Keeps checkpoints the caller folded and verified (events 1..version, contacts sealed). */
  keep(siteId: string, checkpoints: readonly SiteCheckpoint[]): void {
    const streamId = siteStreamId(siteId);
    this.file.keep(
      checkpoints.map((checkpoint) =>
        this.#seal.seal({
          streamId,
          version: checkpoint.version,
          hash: checkpoint.hash,
          lastOccurredAt: checkpoint.lastOccurredAt!,
          maxOccurredAtMs: checkpoint.maxOccurredAtMs,
          inTimeOrder: checkpoint.inTimeOrder,
          state: JSON.stringify(checkpoint.state),
        }),
      ),
    );
  }

  /** Refuses the site's snapshot at `version`: it and every later one are dropped (they rest on the same chain). */
  refuse(siteId: string, version: number, why: string): void {
    this.refused += 1;
    this.file.dropFrom(siteStreamId(siteId), version);
    this.warn(`snapshot of site ${siteId} at version ${version} refused (${why}); it and later ones are dropped`);
  }

  #holds(siteId: string, sealed: SealedSnapshot): boolean {
    if (this.#seal.holds(sealed)) return true;
    this.refuse(siteId, sealed.version, 'its MAC does not hold');
    return false;
  }

  #open(siteId: string, sealed: SealedSnapshot): SiteCheckpoint | undefined {
    if (!this.#holds(siteId, sealed)) return undefined;
    return {
      version: sealed.version,
      state: JSON.parse(sealed.state) as SiteState,
      lastOccurredAt: sealed.lastOccurredAt,
      hash: sealed.hash,
      maxOccurredAtMs: sealed.maxOccurredAtMs,
      inTimeOrder: sealed.inTimeOrder,
    };
  }
}
