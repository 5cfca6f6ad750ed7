import { crc32 } from 'node:zlib';
import type { Position } from '@eventstore/db-client';
import { InvalidPositionError } from '../event-store.errors.js';

/**
 * Global positions of this adapter: the event's EventStoreDB log position,
 * `<commit>-<prepare>-<check>`, with both numbers in decimal and `check` the
 * CRC-32 (8 hex digits) of the rest.
 *
 * The check makes a position self-checking: a SQLite position ("42"), a
 * number from an old checkpoint, a typo or a truncated `Last-Event-ID` is
 * refused here with `InvalidPositionError` (a 400), instead of reaching the
 * server as a log position that is no record boundary. It guards against
 * mistakes, not forgery: the server still validates what it is sent.
 *
 * Both numbers are kept so that resuming is exact, whatever the record: a
 * forward `$all` read from `{ commit, prepare }` starts at that record
 * (inclusive, "for forward pass position is inclusive" in the server's
 * `AllReader`), and the adapter drops it. Events this adapter writes are
 * self-committed prepares, so for them `prepare === commit` (checked against
 * the server source: `StorageWriterService.WritePrepares` flags each event of
 * an append `IsCommitted`; there is no separate commit record), and an
 * append's result position is that of its last event.
 *
 * Log positions are 64-bit unsigned: compared as bigints, never as strings
 * ("9" > "10") or doubles (exact beyond 2^53 only as bigints).
 */

/** 2^64 - 1: what the server sends when it has no position to give; never a record's. */
export const NO_LOG_POSITION = 2n ** 64n - 1n;

const FORMAT = /^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})-([0-9a-f]{8})$/;

/** What the check covers: the numbers, and a tag so that no other scheme's strings pass by chance. */
function checkOf(commit: bigint, prepare: bigint): string {
  return crc32(`esdb:${commit}-${prepare}`).toString(16).padStart(8, '0');
}

export function encodeEventStoreDbPosition({ commit, prepare }: Position): string {
  return `${commit}-${prepare}-${checkOf(commit, prepare)}`;
}

/**
 * The log position `position` stands for.
 * @throws InvalidPositionError for anything this adapter did not issue.
 */
export function decodeEventStoreDbPosition(position: string): Position {
  const decoded = tryDecode(position);
  if (decoded === undefined) {
    throw new InvalidPositionError(
      position,
      'is not an EventStoreDB position of this ledger (<commit>-<prepare>-<check>)',
    );
  }
  return decoded;
}

export function isEventStoreDbPosition(value: string): boolean {
  return tryDecode(value) !== undefined;
}

/** Orders two log positions: by commit position, then by prepare position. */
export function compareLogPositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** Orders two positions issued by this adapter (<0, 0, >0). */
export function compareEventStoreDbPositions(a: string, b: string): number {
  return compareLogPositions(decodeEventStoreDbPosition(a), decodeEventStoreDbPosition(b));
}

/** Before every event: what an empty append on a stream that does not exist answers. */
export const START_POSITION = encodeEventStoreDbPosition({
  commit: 0n,
  prepare: 0n,
});

function tryDecode(position: string): Position | undefined {
  const match = FORMAT.exec(position);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  const commit = BigInt(match[1]);
  const prepare = BigInt(match[2]);
  // A prepare never lies after its commit (the server's own Position refuses that).
  if (commit >= NO_LOG_POSITION || prepare > commit) return undefined;
  return match[3] === checkOf(commit, prepare) ? { commit, prepare } : undefined;
}
