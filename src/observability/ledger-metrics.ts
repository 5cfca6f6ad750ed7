import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the read models report at each scrape (see HealthModule, which feeds it). */
export interface ReadModelReport {
  /** Each read model by name, with the ordinal of the last ledger event it applied (0 before the first). */
  positions(): readonly { readModel: string; position: number }[];
  /** Ledger events in the store the read models have not applied yet; undefined when the store cannot say. */
  lag(): Promise<number | undefined>;
  /** Server-Sent Event streams open right now. */
  sseSubscribers(): number;
}

/**
 * The process's own figures (CPU, memory, event loop, GC) are one set per
 * process, registered once: several apps in one process (the e2e tests)
 * each have their own LedgerMetrics, but collectDefaultMetrics would set up
 * its observers again for every one.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Event types whose every occurrence a counter follows. */
const SITE_EVENT_COUNTERS = {
  SiteSoftDeleted: 'sitesDeleted',
  SiteRestored: 'sitesRestored',
  SitePurged: 'purges',
} as const;

/**
 * Every figure `/metrics` serves, in one registry per app (never the global
 * default registry: tests run several apps in one process). Names start
 * with `tenant_ledger_`; labels hold only bounded values (command types,
 * outcomes, route patterns, read-model names), never ids, tokens or contacts.
 */
@Injectable()
export class LedgerMetrics {
  private readonly registry = new Registry();
  private report: ReadModelReport | undefined;

  readonly commands = new Counter({
    name: 'tenant_ledger_commands_total',
    help: 'Commands run through the write path, by command type and outcome (ok, unchanged, refused, conflict, unavailable, error)',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'tenant_ledger_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern (unmatched for no route) and status, until the response ended',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly tamperedRefusals = new Counter({
    name: 'tenant_ledger_tampered_refusals_total',
    help: 'Requests refused with ledger.tampered (a stream they read does not hold its hash chain), by route pattern',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });

  readonly waves = new Counter({
    name: 'tenant_ledger_waves_total',
    help: 'Waves of deletion operations recorded by this instance, by wave kind (internal, canary, customer)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly waveDuration = new Histogram({
    name: 'tenant_ledger_wave_duration_seconds',
    help: 'Time to decide and commit one wave (its sites re-checked, deleted, and its progress recorded)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly sitesDeleted = new Counter({
    name: 'tenant_ledger_sites_deleted_total',
    help: 'Sites soft-deleted (SiteSoftDeleted events recorded by this instance)',
    registers: [this.registry],
  });

  readonly sitesRestored = new Counter({
    name: 'tenant_ledger_sites_restored_total',
    help: 'Sites restored (SiteRestored events recorded by this instance: rollbacks and single restores)',
    registers: [this.registry],
  });

  readonly purges = new Counter({
    name: 'tenant_ledger_purges_total',
    help: 'Sites purged by the retention sweeper (SitePurged events recorded by this instance)',
    registers: [this.registry],
  });

  constructor() {
    const metrics = this;
    new Gauge({
      name: 'tenant_ledger_read_model_position',
      help: 'Ledger events applied to each read model: the ordinal of the last one in the global order',
      labelNames: ['read_model'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { readModel, position } of metrics.report?.positions() ?? [])
          this.set({ read_model: readModel }, position);
      },
    });
    new Gauge({
      name: 'tenant_ledger_read_model_lag',
      help: 'Ledger events in the store not yet applied to each read model, counted up to 1000 (absent while the store cannot be read)',
      labelNames: ['read_model'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        const lag = await metrics.report?.lag().catch(() => undefined);
        if (lag === undefined) return;
        for (const { readModel } of metrics.report?.positions() ?? []) this.set({ read_model: readModel }, lag);
      },
    });
    new Gauge({
      name: 'tenant_ledger_sse_subscribers',
      help: 'Server-Sent Event streams (/v1/events/stream) open right now',
      registers: [this.registry],
      collect() {
        this.set(metrics.report?.sseSubscribers() ?? 0);
      },
    });
  }

  /** Where the read-model and SSE gauges read their values at each scrape. */
  reportFrom(report: ReadModelReport): void {
    this.report = report;
  }

  /** Counts the deletions, restores and purges among events just recorded. */
  recorded(events: readonly { type: string }[]): void {
    for (const { type } of events) {
      if (Object.hasOwn(SITE_EVENT_COUNTERS, type))
        this[SITE_EVENT_COUNTERS[type as keyof typeof SITE_EVENT_COUNTERS]].inc();
    }
  }

  /** `text/plain; version=0.0.4; charset=utf-8`: the Prometheus text format. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Everything, in the Prometheus text format: this app's figures and the process's. */
  async text(): Promise<string> {
    return Registry.merge([processMetrics(), this.registry]).metrics();
  }
}
