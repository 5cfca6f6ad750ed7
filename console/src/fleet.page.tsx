import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api';
import { SITE_STATUSES, type EventPage, type SitesPage, type Stats } from './api.types';
import { Moment, PageTitle, ProblemView, SiteLink, StatusBadge, useAction, useLoad } from './components';
import { bandsOf, nearestSample, scales, type ChartBox, type Sample } from './fleet-chart';
import { evenMoments, isoUtc, MOMENT_HINT, parseMoment } from './time';

const BOX: ChartBox = { width: 760, height: 260, margin: { left: 48, right: 16, top: 16, bottom: 40 } };
const SAMPLE_COUNTS = [12, 24, 48];
/** Stats reads in flight at once while sampling. */
const PARALLEL = 6;

/**
 * The fleet over time: counts by status sampled at N moments from the
 * ledger's first event to now (GET /v1/stats?asOf=), drawn as an SVG chart;
 * and the sites as they were at a chosen moment (GET /v1/sites?asOf=).
 */
export function FleetPage() {
  const [count, setCount] = useState(24);
  const [asOf, setAsOf] = useState<string | undefined>(undefined);
  const chart = useLoad(
    async (signal) => {
      const first = await getJson<EventPage>('/audit/events', { limit: 1 }, signal);
      const end = Date.now();
      const start = first.events[0] === undefined ? end : Date.parse(first.events[0].occurredAt);
      const samples = await inBatches(evenMoments(start, end, count), PARALLEL, async (at) => ({
        at,
        stats: await getJson<Stats>('/stats', { asOf: isoUtc(at) }, signal),
      }));
      return samples;
    },
    [count],
  );
  return (
    <section>
      <PageTitle title="Fleet">Fleet</PageTitle>
      <div class="panel">
        <h2>Sites by status over time</h2>
        <div class="filters">
          <label for="sample-count">Samples</label>
          <select id="sample-count" value={count} onChange={(event) => setCount(Number(event.currentTarget.value))}>
            {SAMPLE_COUNTS.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          <button type="button" onClick={chart.reload} disabled={chart.loading}>
            Refresh
          </button>
          {chart.loading && <span class="muted">Sampling…</span>}
        </div>
        <ProblemView error={chart.error} />
        {chart.data && <Chart samples={chart.data} selected={asOf} onSelect={(at) => setAsOf(isoUtc(at))} />}
      </div>
      <FleetAsOf asOf={asOf} onAsOf={setAsOf} />
    </section>
  );
}

function Chart({
  samples,
  selected,
  onSelect,
}: {
  samples: Sample[];
  selected: string | undefined;
  onSelect: (at: number) => void;
}) {
  const bands = bandsOf(samples, SITE_STATUSES, BOX);
  const first = samples[0];
  const last = samples.at(-1);
  if (first === undefined || last === undefined) return null;
  const { x, y, top } = scales(samples, BOX);
  const plotBottom = BOX.height - BOX.margin.bottom;
  const selectedAt = selected === undefined ? undefined : parseMoment(selected);
  const click = (event: MouseEvent) => {
    const svg = event.currentTarget as SVGSVGElement;
    const box = svg.getBoundingClientRect();
    const sample = nearestSample(samples, BOX, ((event.clientX - box.left) / box.width) * BOX.width);
    if (sample !== undefined) onSelect(sample.at);
  };
  return (
    <figure class="chart">
      <svg
        id="fleet-chart"
        viewBox={`0 0 ${BOX.width} ${BOX.height}`}
        role="img"
        aria-labelledby="chart-title chart-desc"
        onClick={click}
      >
        <title id="chart-title">Sites by status over time</title>
        <desc id="chart-desc">
          Counts of active, suspended, deleted and purged sites, stacked, at {samples.length} moments from{' '}
          {isoUtc(first.at)} to {isoUtc(last.at)}. The table below has the same figures. Click the chart to list the
          fleet at the nearest moment.
        </desc>
        {[...new Set([0, Math.round(top / 2), top])].map((n) => (
          <g key={n} class="grid">
            <line x1={BOX.margin.left} x2={BOX.width - BOX.margin.right} y1={y(n)} y2={y(n)} />
            <text x={BOX.margin.left - 6} y={y(n) + 4} text-anchor="end">
              {n}
            </text>
          </g>
        ))}
        <text class="axis" x={BOX.margin.left} y={BOX.height - 12}>
          {isoUtc(first.at)}
        </text>
        <text class="axis" x={BOX.width - BOX.margin.right} y={BOX.height - 12} text-anchor="end">
          {isoUtc(last.at)}
        </text>
        {bands.map((band) => (
          <path key={band.status} class={`band band-${band.status}`} d={band.path} data-status={band.status} />
        ))}
        {selectedAt !== undefined && selectedAt >= first.at && selectedAt <= last.at && (
          <line class="selected" x1={x(selectedAt)} x2={x(selectedAt)} y1={BOX.margin.top} y2={plotBottom} />
        )}
      </svg>
      <figcaption class="legend">
        {SITE_STATUSES.map((status) => (
          <span key={status} class="legend-item">
            <svg class="swatch" viewBox="0 0 12 12" aria-hidden="true">
              <rect class={`band-${status}`} width="12" height="12" />
            </svg>
            <StatusBadge status={status} /> {last.stats.byStatus[status]} now
          </span>
        ))}
      </figcaption>
      <details>
        <summary>The figures (counts at each sampled moment)</summary>
        <table class="list" aria-label="Counts by status at each sampled moment">
          <thead>
            <tr>
              <th scope="col">Moment (UTC)</th>
              {SITE_STATUSES.map((status) => (
                <th scope="col" class="num" key={status}>
                  {status}
                </th>
              ))}
              <th scope="col" class="num">
                total
              </th>
              <th scope="col">
                <span class="visually-hidden">List</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {samples.map((sample) => (
              <tr key={sample.at}>
                <td>
                  <Moment value={isoUtc(sample.at)} />
                </td>
                {SITE_STATUSES.map((status) => (
                  <td class="num" key={status}>
                    {sample.stats.byStatus[status]}
                  </td>
                ))}
                <td class="num">{sample.stats.total}</td>
                <td>
                  <button type="button" class="link" onClick={() => onSelect(sample.at)}>
                    List as of this moment
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

interface ListFilters {
  asOf: string | undefined;
  status: string;
  internal: string;
}

/** GET /v1/sites (and /v1/stats) at a moment, page by page. */
function FleetAsOf({ asOf, onAsOf }: { asOf: string | undefined; onAsOf: (asOf: string | undefined) => void }) {
  const [text, setText] = useState(asOf ?? '');
  const [status, setStatus] = useState('');
  const [internal, setInternal] = useState('');
  // A moment picked on the chart fills the input.
  useEffect(() => setText(asOf ?? ''), [asOf]);
  const filters: ListFilters = { asOf, status, internal };
  const invalid = text.trim() !== '' && parseMoment(text) === undefined;
  return (
    <div class="panel" id="fleet-list">
      <h2>The fleet at a moment</h2>
      <form
        class="filters"
        aria-label="Fleet at a moment"
        onSubmit={(event) => {
          event.preventDefault();
          if (!invalid) onAsOf(text.trim() === '' ? undefined : text.trim());
        }}
      >
        <label for="fleet-as-of">As of ({MOMENT_HINT}; empty: now)</label>
        <input id="fleet-as-of" class="moment" value={text} onInput={(event) => setText(event.currentTarget.value)} />
        <label for="fleet-status">Status</label>
        <select id="fleet-status" value={status} onChange={(event) => setStatus(event.currentTarget.value)}>
          <option value="">any</option>
          {SITE_STATUSES.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
        <label for="fleet-internal">Sites</label>
        <select id="fleet-internal" value={internal} onChange={(event) => setInternal(event.currentTarget.value)}>
          <option value="">all</option>
          <option value="true">internal only</option>
          <option value="false">customer only</option>
        </select>
        <button type="submit" disabled={invalid}>
          Show
        </button>
      </form>
      {invalid && <p class="invalid">Not a moment: {MOMENT_HINT}</p>}
      <SitesAt key={JSON.stringify(filters)} filters={filters} />
    </div>
  );
}

function SitesAt({ filters }: { filters: ListFilters }) {
  const query = {
    asOf: filters.asOf,
    status: filters.status || undefined,
    internal: filters.internal || undefined,
  };
  const first = useLoad(async (signal) => {
    const [stats, page] = await Promise.all([
      getJson<Stats>('/stats', { asOf: filters.asOf }, signal),
      getJson<SitesPage>('/sites', { ...query, limit: 100 }, signal),
    ]);
    return { stats, page };
  }, []);
  const [more, setMore] = useState<SitesPage[]>([]);
  const action = useAction();
  if (first.data === undefined)
    return first.loading ? <p class="muted">Loading…</p> : <ProblemView error={first.error} />;
  const pages = [first.data.page, ...more];
  const sites = pages.flatMap((page) => page.sites);
  const next = pages.at(-1)?.nextCursor;
  const { stats } = first.data;
  return (
    <>
      <p id="fleet-as-of-shown">
        {filters.asOf === undefined ? (
          'Now'
        ) : (
          <>
            As of <Moment value={filters.asOf} />
          </>
        )}
        : {stats.total} sites — {SITE_STATUSES.map((status) => `${stats.byStatus[status]} ${status}`).join(', ')}.
      </p>
      {sites.length === 0 ? (
        <p class="muted">No sites match.</p>
      ) : (
        <table class="list" aria-label="Sites">
          <thead>
            <tr>
              <th scope="col">Site</th>
              <th scope="col">Name</th>
              <th scope="col">Customer</th>
              <th scope="col">Internal</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">
                Version
              </th>
              <th scope="col">Updated (UTC)</th>
              <th scope="col">Deleted at</th>
            </tr>
          </thead>
          <tbody>
            {sites.map((site) => (
              <tr key={site.siteId} data-site={site.siteId}>
                <td>
                  <SiteLink siteId={site.siteId} />
                </td>
                <td>{site.name}</td>
                <td>{site.customerId}</td>
                <td>{site.internal ? 'yes' : 'no'}</td>
                <td class="site-status">
                  <StatusBadge status={site.status} />
                </td>
                <td class="num">{site.version}</td>
                <td>
                  <Moment value={site.updatedAt} />
                </td>
                <td>
                  <Moment value={site.deletedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ProblemView error={action.error} />
      {next !== undefined && (
        <button
          type="button"
          disabled={action.busy}
          onClick={async () => {
            const page = await action.run(() => getJson<SitesPage>('/sites', { ...query, limit: 100, cursor: next }));
            if (page !== undefined) setMore([...more, page]);
          }}
        >
          More sites
        </button>
      )}
    </>
  );
}

/** `work` over `items`, at most `width` at a time, results in order. */
async function inBatches<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width)
    results.push(...(await Promise.all(items.slice(i, i + width).map(work))));
  return results;
}
