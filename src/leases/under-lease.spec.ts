import { describe, expect, it } from 'vitest';
import type { Leases } from './leases.port.js';
import { LocalLeases } from './local-leases.js';
import { underLease } from './under-lease.js';

/** Leases held in a map, with a switch to hand them to "another instance"; the real ones are in postgres-leases.spec.ts. */
class ScriptedLeases implements Leases {
  readonly held = new Map<string, string>();
  readonly calls: string[] = [];
  failRenewals = false;

  async acquire(name: string): Promise<boolean> {
    this.calls.push(`acquire ${name}`);
    if (this.failRenewals && this.held.get(name) === 'me') throw new Error('connection refused');
    const holder = this.held.get(name);
    if (holder !== undefined && holder !== 'me') return false;
    this.held.set(name, 'me');
    return true;
  }

  async release(name: string): Promise<void> {
    this.calls.push(`release ${name}`);
    if (this.held.get(name) === 'me') this.held.delete(name);
  }
}

const quiet = { ttlMs: 30, warn: () => undefined };

describe('underLease', () => {
  it('runs the work while holding the lease, then releases it', async () => {
    const leases = new ScriptedLeases();
    const outcome = await underLease(leases, 'job', quiet, async () => {
      expect(leases.held.get('job')).toBe('me');
      return 42;
    });
    expect(outcome).toEqual({ ran: true, value: 42 });
    expect(leases.held.has('job')).toBe(false);
  });

  it('does not run the work while another instance holds the lease', async () => {
    const leases = new ScriptedLeases();
    leases.held.set('job', 'other');
    let ran = false;
    expect(await underLease(leases, 'job', quiet, async () => (ran = true))).toEqual({ ran: false });
    expect(ran).toBe(false);
    expect(leases.held.get('job')).toBe('other');
  });

  it('renews while the work runs and tells the work when the lease is lost', async () => {
    const leases = new ScriptedLeases();
    const warnings: string[] = [];
    const outcome = await underLease(leases, 'job', { ttlMs: 30, warn: (m) => warnings.push(m) }, async (lost) => {
      await new Promise((resolve) => setTimeout(resolve, 45)); // at least one renewal (every 10 ms)
      expect(lost.aborted).toBe(false);
      leases.held.set('job', 'other'); // another instance took it over
      await new Promise<void>((resolve) => lost.addEventListener('abort', () => resolve(), { once: true }));
      return 'stopped';
    });
    expect(outcome).toEqual({ ran: true, value: 'stopped' });
    expect(leases.calls.filter((call) => call === 'acquire job').length).toBeGreaterThan(2);
    expect(warnings).toEqual(['lease job was taken by another instance; stopping its work here']);
    expect(leases.held.get('job')).toBe('other'); // the release does not take it from the new holder
  });

  it('a renewal that fails (store unreachable) also tells the work to stop', async () => {
    const leases = new ScriptedLeases();
    const warnings: string[] = [];
    await underLease(leases, 'job', { ttlMs: 30, warn: (m) => warnings.push(m) }, async (lost) => {
      leases.failRenewals = true;
      await new Promise<void>((resolve) => lost.addEventListener('abort', () => resolve(), { once: true }));
    });
    expect(warnings).toEqual(['lease job could not be renewed (connection refused)']);
  });

  it('releases the lease when the work throws', async () => {
    const leases = new ScriptedLeases();
    await expect(
      underLease(leases, 'job', quiet, async () => {
        throw new Error('wave failed');
      }),
    ).rejects.toThrow('wave failed');
    expect(leases.held.has('job')).toBe(false);
  });

  it('local leases (one instance) always hold', async () => {
    expect(await underLease(new LocalLeases(), 'job', quiet, async () => 'ran')).toEqual({ ran: true, value: 'ran' });
  });
});
