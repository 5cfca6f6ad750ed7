import { useState } from 'preact/hooks';
import { call, getJson, type Query } from './api';
import type { EventPage } from './api.types';
import {
  abbreviated,
  JsonDetails,
  Moment,
  OperationLink,
  PageTitle,
  ProblemView,
  useAction,
  useLoad,
} from './components';
import { links, navigate } from './router';
import { isoUtc, MOMENT_HINT, parseMoment } from './time';

/** The filters of GET /v1/audit/events, as the form and the page's URL hold them. */
const FILTERS = [
  { name: 'actor', label: 'Actor', hint: 'a principal, e.g. operator, or system:retention' },
  { name: 'operationId', label: 'Operation', hint: 'op_…: its events, deletions and restores' },
  { name: 'type', label: 'Types', hint: 'comma list, e.g. SiteSoftDeleted,SiteRestored' },
  { name: 'from', label: 'From', hint: `${MOMENT_HINT}; inclusive` },
  { name: 'to', label: 'To', hint: `${MOMENT_HINT}; inclusive` },
  { name: 'correlationId', label: 'Correlation id', hint: 'the X-Correlation-Id a client sent' },
  { name: 'siteId', label: 'Site', hint: 'the site’s own events' },
  { name: 'ticket', label: 'Ticket', hint: 'an operation’s ticket' },
] as const;

type FilterName = (typeof FILTERS)[number]['name'];
type Filters = Record<FilterName, string>;

const PAGE_SIZES = [10, 50, 100, 500];
const FORMATS = {
  ndjson: { accept: 'application/x-ndjson', label: 'NDJSON' },
  csv: { accept: 'text/csv', label: 'CSV' },
};

/** Who did what, when, why: the audit index, filtered, page by page, and exported whole. */
export function AuditPage({ query }: { query: URLSearchParams }) {
  const applied = Object.fromEntries(FILTERS.map(({ name }) => [name, query.get(name) ?? ''])) as Filters;
  const limit = Number(query.get('limit') ?? '50') || 50;
  const [form, setForm] = useState<Filters>(applied);
  const [size, setSize] = useState(limit);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors.at(-1);
  const filterQuery: Query = { ...applied };
  const page = useLoad(
    (signal) => getJson<EventPage>('/audit/events', { ...filterQuery, limit, cursor }, signal),
    [cursor],
  );
  const invalidMoments = (['from', 'to'] as const).filter(
    (name) => form[name].trim() !== '' && parseMoment(form[name]) === undefined,
  );
  const exporter = useAction();
  const [exported, setExported] = useState<string | undefined>(undefined);

  const exportAs = (format: keyof typeof FORMATS) =>
    exporter.run(async () => {
      setExported(undefined);
      const response = await call('/audit/events', {
        query: { ...filterQuery, format },
        accept: FORMATS[format].accept,
      });
      // A link cannot carry the bearer token: fetch with it, then hand the browser the bytes.
      const blob = await response.blob();
      const name = `audit-${isoUtc(Date.now()).replace(/[:.]/g, '-')}.${format}`;
      const url = URL.createObjectURL(blob);
      const anchor = document.createElement('a');
      anchor.href = url;
      anchor.download = name;
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setExported(`${name}: ${blob.size} bytes`);
    });

  return (
    <section>
      <PageTitle title="Audit">Audit</PageTitle>
      <form
        class="panel audit-filters"
        aria-label="Audit filters"
        onSubmit={(event) => {
          event.preventDefault();
          if (invalidMoments.length === 0)
            navigate(links.audit({ ...trimmed(form), ...(size === 50 ? {} : { limit: String(size) }) }));
        }}
      >
        <div class="grid-form">
          {FILTERS.map(({ name, label, hint }) => (
            <div class="stack" key={name}>
              <label for={`audit-${name}`}>{label}</label>
              <input
                id={`audit-${name}`}
                name={name}
                value={form[name]}
                aria-describedby={`audit-${name}-hint`}
                onInput={(event) => setForm({ ...form, [name]: event.currentTarget.value })}
              />
              <span class="hint" id={`audit-${name}-hint`}>
                {hint}
              </span>
            </div>
          ))}
          <div class="stack">
            <label for="audit-limit">Page size</label>
            <select id="audit-limit" value={size} onChange={(event) => setSize(Number(event.currentTarget.value))}>
              {PAGE_SIZES.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </div>
        </div>
        {invalidMoments.length > 0 && (
          <p class="invalid">
            Not a moment ({invalidMoments.join(', ')}): {MOMENT_HINT}
          </p>
        )}
        <button type="submit" disabled={invalidMoments.length > 0}>
          Search
        </button>{' '}
        <button
          type="button"
          onClick={() => {
            setForm(Object.fromEntries(FILTERS.map(({ name }) => [name, ''])) as Filters);
            navigate(links.audit());
          }}
        >
          Clear
        </button>
      </form>
      <div class="panel">
        <h2>Export every match</h2>
        <p class="hint">All events matching the filters applied above (not just this page), streamed by the service.</p>
        {(Object.keys(FORMATS) as (keyof typeof FORMATS)[]).map((format) => (
          <button key={format} type="button" disabled={exporter.busy} onClick={() => exportAs(format)}>
            Export {FORMATS[format].label}
          </button>
        ))}
        {exporter.busy && <span class="muted"> Exporting…</span>}
        {exported && (
          <p role="status" id="export-status">
            Downloaded {exported}
          </p>
        )}
        <ProblemView error={exporter.error} />
      </div>
      <ProblemView error={page.error} />
      {page.data && (
        <div class="panel">
          <h2>
            Events <span class="muted">(page {cursors.length})</span>
          </h2>
          <EventTable page={page.data} />
          <div class="pager">
            <button
              type="button"
              disabled={cursors.length === 1 || page.loading}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              ← Previous page
            </button>{' '}
            <button
              type="button"
              disabled={page.data.nextCursor === undefined || page.loading}
              onClick={() => setCursors([...cursors, page.data?.nextCursor])}
            >
              Next page →
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

function trimmed(filters: Filters): Record<string, string> {
  return Object.fromEntries(Object.entries(filters).map(([name, value]) => [name, value.trim()]));
}

function EventTable({ page }: { page: EventPage }) {
  if (page.events.length === 0) return <p class="muted">No event matches.</p>;
  return (
    <table class="list" aria-label="Audit events">
      <thead>
        <tr>
          <th scope="col" class="num">
            Position
          </th>
          <th scope="col">Occurred (UTC)</th>
          <th scope="col">Type</th>
          <th scope="col">Stream</th>
          <th scope="col">Actor</th>
          <th scope="col">Reason</th>
          <th scope="col">Ticket</th>
          <th scope="col">Operation</th>
          <th scope="col">Correlation</th>
        </tr>
      </thead>
      <tbody>
        {page.events.map((event) => (
          <tr key={event.eventId} data-type={event.type}>
            <td class="num mono">{event.position}</td>
            <td>
              <Moment value={event.occurredAt} />
            </td>
            <td>
              <strong>{event.type}</strong>
              <JsonDetails summary="data, metadata" value={{ data: event.data, metadata: event.metadata }} />
            </td>
            <td class="mono nowrap">
              {event.streamId.startsWith('site-') ? (
                <a href={links.site(event.streamId.slice('site-'.length))}>{event.streamId}</a>
              ) : (
                <span title={event.streamId}>{abbreviated(event.streamId, 22)}</span>
              )}{' '}
              v{event.version}
            </td>
            <td class="actor">{event.actor}</td>
            <td>{event.metadata.reason ?? '—'}</td>
            <td>{event.metadata.ticket ?? '—'}</td>
            <td>
              {event.metadata.operationId ? <OperationLink operationId={event.metadata.operationId} short /> : '—'}
            </td>
            <td class="mono nowrap" title={event.metadata.correlationId}>
              {event.metadata.correlationId === undefined ? '—' : abbreviated(event.metadata.correlationId, 16)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
