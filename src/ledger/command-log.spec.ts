import { describe, expect, it } from 'vitest';
import { DomainError } from '../common/domain-error.js';
import { EventStoreUnavailableError, PartialAppendError } from '../event-store/event-store.errors.js';
import { ConcurrentChangeError } from './command-core.js';
import { commandLine, outcomeOf, type CommandLabel } from './command-log.js';

const label: CommandLabel = {
  type: 'RegisterSite',
  context: { principal: { id: 'operator', roles: new Set() }, correlationId: 'INC-7', causationId: null },
};

describe('outcomeOf', () => {
  it('tells a broken rule, a lost race, an outage and anything else apart', () => {
    expect(outcomeOf(new DomainError('conflict', 'site.legal-hold', 'held'))).toEqual({
      outcome: 'refused',
      code: 'site.legal-hold',
    });
    expect(outcomeOf(new ConcurrentChangeError('site-a', 10))).toEqual({
      outcome: 'conflict',
      code: 'ledger.concurrent-change',
    });
    expect(outcomeOf(new EventStoreUnavailableError('down'))).toEqual({
      outcome: 'unavailable',
      code: 'store.unavailable',
    });
    expect(outcomeOf(new DomainError('unavailable', 'read-model.behind', 'later'))).toMatchObject({
      outcome: 'unavailable',
    });
    expect(outcomeOf(new TypeError('oops'))).toEqual({ outcome: 'error' });
  });

  it('answers a partly committed append as its cause, with its own code', () => {
    const partial = new PartialAppendError([], new EventStoreUnavailableError('down'));
    expect(outcomeOf(partial)).toEqual({ outcome: 'unavailable', code: 'store.partial-append' });
  });
});

describe('commandLine', () => {
  it('names the command, actor, correlation, the last stream written and its version', () => {
    const written = [
      { streamId: 'claim-site-1', nextVersion: 1, position: '1' },
      { streamId: 'site-site-1', nextVersion: 1, position: '2' },
    ];
    const line = commandLine(label, { outcome: 'ok' }, written, 12.345);
    expect(line).toEqual({
      level: 'log',
      message: 'RegisterSite ok',
      fields: {
        command: 'RegisterSite',
        actor: 'operator',
        correlationId: 'INC-7',
        stream: 'site-site-1',
        version: 1,
        streams: 2,
        outcome: 'ok',
        durationMs: 12.3,
      },
    });
  });

  it('logs a refusal at info with its code, a lost race as a warning, anything else as an error', () => {
    const refused = commandLine(label, { outcome: 'refused', code: 'site.not-suspended' }, [], 1);
    expect(refused).toMatchObject({ level: 'log', message: 'RegisterSite refused (site.not-suspended)' });
    expect(refused.fields).not.toHaveProperty('stream');
    expect(refused.fields).toMatchObject({ outcome: 'refused', code: 'site.not-suspended' });
    expect(commandLine(label, { outcome: 'conflict' }, [], 1).level).toBe('warn');
    expect(commandLine(label, { outcome: 'unavailable' }, [], 1).level).toBe('warn');
    expect(commandLine(label, { outcome: 'error' }, [], 1).level).toBe('error');
  });
});
