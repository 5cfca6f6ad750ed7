import { DomainError } from '../common/domain-error.js';
import { EventStoreUnavailableError, PartialAppendError } from '../event-store/event-store.errors.js';
import type { AppendResult } from '../event-store/event-store.port.js';
import type { RequestContext } from './request-context.js';

/** What a command is, for its log line and its metrics: its type and who asked, in which correlation. */
export interface CommandLabel {
  /** The command's type (`RegisterSite`, `ApproveOperation`, `CompleteWave`, `PurgeSite`, …). */
  type: string;
  context: RequestContext;
}

/**
 * How a command ended: `ok` recorded events; `unchanged` recorded nothing (a
 * dry run, or what was asked was already true); `refused` broke a rule (the
 * code says which); `conflict` lost every race to other writers;
 * `unavailable` found the store unreachable; `error` is anything else.
 */
export type CommandOutcome = 'ok' | 'unchanged' | 'refused' | 'conflict' | 'unavailable' | 'error';

export function outcomeOf(error: unknown): { outcome: CommandOutcome; code?: string } {
  if (error instanceof PartialAppendError) return { ...outcomeOf(error.cause), code: error.code };
  if (error instanceof EventStoreUnavailableError) return { outcome: 'unavailable', code: error.code };
  if (error instanceof DomainError) {
    if (error.code === 'ledger.concurrent-change') return { outcome: 'conflict', code: error.code };
    return { outcome: error.kind === 'unavailable' ? 'unavailable' : 'refused', code: error.code };
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { outcome: 'error', code } : { outcome: 'error' };
}

export interface CommandLine {
  level: 'log' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

/**
 * The one log line of a command: its type, actor and correlation, the
 * stream it changed and the version it wrote (the last stream written: the
 * site, the operation; ID claims come before it), how many streams it
 * wrote, the outcome and how long it took. Never its data (contacts).
 */
export function commandLine(
  label: CommandLabel,
  ended: { outcome: CommandOutcome; code?: string },
  written: readonly AppendResult[],
  durationMs: number,
): CommandLine {
  const subject = written.at(-1);
  const fields: Record<string, unknown> = {
    command: label.type,
    actor: label.context.principal.id,
    correlationId: label.context.correlationId,
    ...(subject === undefined ? {} : { stream: subject.streamId, version: subject.nextVersion }),
    ...(written.length > 1 ? { streams: written.length } : {}),
    outcome: ended.outcome,
    ...(ended.code === undefined ? {} : { code: ended.code }),
    durationMs: Math.round(durationMs * 10) / 10,
  };
  const level =
    ended.outcome === 'error' ? 'error' : ['conflict', 'unavailable'].includes(ended.outcome) ? 'warn' : 'log';
  const message = `${label.type} ${ended.outcome}${ended.code === undefined ? '' : ` (${ended.code})`}`;
  return { level, fields, message };
}
