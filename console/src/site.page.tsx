import { useEffect, useState } from 'preact/hooks';
import { ApiProblem, getJson, sendJson } from './api';
import type { EventPage, LedgerEvent, RevertResult, Site } from './api.types';
import {
  Field,
  JsonDetails,
  Moment,
  OperationLink,
  PageTitle,
  ProblemView,
  StatusBadge,
  useAction,
  useLoad,
} from './components';
import { links } from './router';
import { diffSites, fieldText } from './site-diff';
import { isoUtc, MOMENT_HINT, parseMoment, span } from './time';

/** Most events the page reads for one site (history pages of 1000). */
const HISTORY_LIMIT = 20_000;

interface SiteRecord {
  current: Site;
  events: LedgerEvent[];
  /** The lifetime the slider spans: the first event to now (or the purge, the end of a site). */
  start: number;
  end: number;
}

/**
 * One site: its timeline (every event, who, why, which ticket and operation),
 * a slider over its lifetime showing the state at any moment (`?asOf=`), a
 * field-by-field diff of two moments, and restore / revert where allowed.
 */
export function SitePage({ siteId }: { siteId: string }) {
  const path = `/sites/${encodeURIComponent(siteId)}`;
  const record = useLoad(
    async (signal): Promise<SiteRecord> => {
      const current = await getJson<Site>(path, undefined, signal);
      const events: LedgerEvent[] = [];
      let cursor: string | undefined;
      do {
        const page = await getJson<EventPage>(`${path}/history`, { limit: 1000, cursor }, signal);
        events.push(...page.events);
        cursor = page.nextCursor;
      } while (cursor !== undefined && events.length < HISTORY_LIMIT);
      const times = events.map((event) => Date.parse(event.occurredAt));
      const start = Math.min(...times);
      const end = current.purgedAt !== null ? Date.parse(current.purgedAt) : Math.max(Date.now(), ...times);
      return { current, events, start, end };
    },
    [siteId],
  );
  const data = record.data;
  return (
    <section>
      <PageTitle title={`Site ${siteId}`}>
        Site <span class="mono">{siteId}</span> {data && <StatusBadge status={data.current.status} />}
      </PageTitle>
      <ProblemView error={record.error} />
      {data === undefined ? (
        record.loading && <p class="muted">Loading…</p>
      ) : (
        <SiteView key={`${data.current.version}`} siteId={siteId} record={data} onChanged={record.reload} />
      )}
    </section>
  );
}

function SiteView({ siteId, record, onChanged }: { siteId: string; record: SiteRecord; onChanged: () => void }) {
  const [moment, setMoment] = useState(record.end);
  const changes = [...new Set(record.events.map((event) => Date.parse(event.occurredAt)))].sort((a, b) => a - b);
  return (
    <>
      <div class="columns">
        <div class="panel">
          <h2>Now</h2>
          <SiteFields site={record.current} />
          <p>
            <a href={links.audit({ siteId })}>Audit trail of this site</a>
          </p>
        </div>
        <SiteActions siteId={siteId} site={record.current} moment={moment} record={record} onChanged={onChanged} />
      </div>
      <TimeTravel record={record} changes={changes} moment={moment} onMoment={setMoment} siteId={siteId} />
      <Compare siteId={siteId} record={record} moment={moment} />
      <Timeline events={record.events} moment={moment} onMoment={setMoment} />
    </>
  );
}

function SiteFields({ site }: { site: Site }) {
  return (
    <dl class="fields">
      <Field label="Status">
        <StatusBadge status={site.status} />
      </Field>
      <Field label="Name">{site.name}</Field>
      <Field label="Customer">{site.customerId}</Field>
      <Field label="Region">{site.region ?? '—'}</Field>
      <Field label="Internal">{site.internal ? 'yes (the provider’s own)' : 'no'}</Field>
      <Field label="Products">
        {site.products.map((product) => `${product.installationId} (${product.productKey})`).join(', ') || '—'}
      </Field>
      <Field label="Contacts">
        {site.contacts === undefined || site.contacts.length === 0
          ? '—'
          : site.contacts
              .map((contact) =>
                'redacted' in contact ? '(redacted: purged)' : `${contact.name} <${contact.email}> ${contact.role}`,
              )
              .join('; ')}
      </Field>
      <Field label="Deletion protection">{site.deletionProtection ? 'on' : 'off'}</Field>
      <Field label="Legal hold">
        {site.legalHold === null
          ? 'none'
          : `${site.legalHold.reference}: ${site.legalHold.reason} (by ${site.legalHold.placedBy})`}
      </Field>
      <Field label="Retention">{site.retention}</Field>
      <Field label="Deleted at">
        <Moment value={site.deletedAt} />
      </Field>
      <Field label="Purge after">
        <Moment value={site.purgeAfter} />
      </Field>
      <Field label="Purged at">
        <Moment value={site.purgedAt} />
      </Field>
      <Field label="Version">{site.version}</Field>
      <Field label="Updated">
        <Moment value={site.updatedAt} />
      </Field>
    </dl>
  );
}

/** The state at `moment` (debounced while the slider moves), or the site's absence then. */
function useStateAt(siteId: string, moment: number | undefined) {
  const [settled, setSettled] = useState(moment);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(moment), 120);
    return () => clearTimeout(timer);
  }, [moment]);
  return useLoad(
    async (signal): Promise<Site | undefined> => {
      if (settled === undefined) return undefined;
      try {
        return await getJson<Site>(`/sites/${encodeURIComponent(siteId)}`, { asOf: isoUtc(settled) }, signal);
      } catch (error) {
        // Before its registration a site does not exist: that is an answer here, not an error.
        if (error instanceof ApiProblem && error.status === 404) return undefined;
        throw error;
      }
    },
    [siteId, settled],
  );
}

function TimeTravel(props: {
  siteId: string;
  record: SiteRecord;
  changes: number[];
  moment: number;
  onMoment: (moment: number) => void;
}) {
  const { record, changes, moment, onMoment } = props;
  const state = useStateAt(props.siteId, moment);
  const previous = [...changes].reverse().find((at) => at < moment) ?? record.start;
  const next = changes.find((at) => at > moment) ?? record.end;
  const onKeyDown = (event: KeyboardEvent) => {
    // Arrows step from change to change (a millisecond step would be useless); Home and End stay native.
    if (event.key === 'ArrowLeft' || event.key === 'ArrowDown') onMoment(previous);
    else if (event.key === 'ArrowRight' || event.key === 'ArrowUp') onMoment(next);
    else return;
    event.preventDefault();
  };
  const shown = state.data;
  return (
    <div class="panel" id="time-travel">
      <h2>State at a moment</h2>
      <label for="moment-slider">
        Moment in the site’s lifetime (← → step from change to change; Home, End: the ends)
      </label>
      <input
        id="moment-slider"
        class="slider"
        type="range"
        min={record.start}
        max={record.end}
        step={1}
        value={moment}
        list="change-ticks"
        aria-valuetext={isoUtc(moment)}
        onInput={(event) => onMoment(Number(event.currentTarget.value))}
        onKeyDown={onKeyDown}
      />
      <datalist id="change-ticks">
        {changes.map((at) => (
          <option key={at} value={at} />
        ))}
      </datalist>
      <div class="slider-ends">
        <Moment value={isoUtc(record.start)} />
        <Moment value={isoUtc(record.end)} />
      </div>
      <p>
        <output for="moment-slider" id="moment-value">
          {isoUtc(moment)}
        </output>{' '}
        <span class="muted">({span(moment - record.start)} after registration)</span>{' '}
        <button type="button" onClick={() => onMoment(previous)}>
          ← Previous change
        </button>{' '}
        <button type="button" onClick={() => onMoment(next)}>
          Next change →
        </button>{' '}
        <button type="button" onClick={() => onMoment(record.end)}>
          Now
        </button>
      </p>
      <ProblemView error={state.error} />
      <div id="state-at" aria-live="polite" aria-busy={state.loading}>
        {shown === undefined ? (
          !state.loading && <p>The site did not exist yet at this moment.</p>
        ) : (
          <>
            <p>
              Version <strong id="state-version">{shown.version}</strong>, status{' '}
              <span id="state-status">
                <StatusBadge status={shown.status} />
              </span>
            </p>
            <SiteFields site={shown} />
          </>
        )}
      </div>
    </div>
  );
}

/** Two moments, field by field. */
function Compare({ siteId, record, moment }: { siteId: string; record: SiteRecord; moment: number }) {
  const [fromText, setFromText] = useState(isoUtc(record.start));
  const [toText, setToText] = useState(isoUtc(record.end));
  const [all, setAll] = useState(false);
  const from = parseMoment(fromText);
  const to = parseMoment(toText);
  const before = useStateAt(siteId, from);
  const after = useStateAt(siteId, to);
  const rows = diffSites(before.data, after.data).filter((row) => all || row.changed);
  const ready = from !== undefined && to !== undefined && !before.loading && !after.loading;
  return (
    <div class="panel" id="compare">
      <h2>Compare two moments</h2>
      <div class="compare-inputs">
        <div class="stack">
          <label for="compare-a">Moment A ({MOMENT_HINT})</label>
          <input
            id="compare-a"
            class="moment"
            value={fromText}
            onInput={(event) => setFromText(event.currentTarget.value)}
          />
          {from === undefined && <span class="invalid">Not a moment: {MOMENT_HINT}</span>}
          <button type="button" onClick={() => setFromText(isoUtc(moment))}>
            A = slider moment
          </button>
        </div>
        <div class="stack">
          <label for="compare-b">Moment B ({MOMENT_HINT})</label>
          <input
            id="compare-b"
            class="moment"
            value={toText}
            onInput={(event) => setToText(event.currentTarget.value)}
          />
          {to === undefined && <span class="invalid">Not a moment: {MOMENT_HINT}</span>}
          <button type="button" onClick={() => setToText(isoUtc(moment))}>
            B = slider moment
          </button>
        </div>
      </div>
      <label class="check">
        <input type="checkbox" checked={all} onChange={(event) => setAll(event.currentTarget.checked)} /> Show unchanged
        fields too
      </label>
      <ProblemView error={before.error ?? after.error} />
      {ready && (
        <table class="list diff" aria-label="Differences between A and B" aria-busy={!ready}>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">A</th>
              <th scope="col">B</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 ? (
              <tr>
                <td colSpan={3}>No field differs.</td>
              </tr>
            ) : (
              rows.map((row) => (
                <tr key={row.field} class={row.changed ? 'changed' : undefined} data-field={row.field}>
                  <th scope="row">{row.field}</th>
                  <td class="before">{row.before}</td>
                  <td class="after">{row.after}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Timeline({
  events,
  moment,
  onMoment,
}: {
  events: LedgerEvent[];
  moment: number;
  onMoment: (at: number) => void;
}) {
  const latest = events.filter((event) => Date.parse(event.occurredAt) <= moment).at(-1);
  return (
    <div class="panel">
      <h2>Timeline ({events.length} events)</h2>
      <ol class="timeline" aria-label="Timeline">
        {events.map((event) => {
          const { reason, ticket, operationId, correlationId, compensates } = event.metadata;
          const current = event === latest;
          return (
            <li key={event.eventId} class={current ? 'current' : undefined} aria-current={current ? 'step' : undefined}>
              <div class="timeline-head">
                <span class="mono">v{event.version}</span> <Moment value={event.occurredAt} />{' '}
                <strong class="event-type">{event.type}</strong> by <span class="actor">{event.actor}</span>
                <button type="button" class="link" onClick={() => onMoment(Date.parse(event.occurredAt))}>
                  State after this
                </button>
              </div>
              <dl class="fields compact">
                {reason !== undefined && <Field label="Reason">{reason}</Field>}
                {ticket !== undefined && <Field label="Ticket">{ticket}</Field>}
                {operationId !== undefined && (
                  <Field label="Operation">
                    <OperationLink operationId={operationId} />
                  </Field>
                )}
                {correlationId !== undefined && (
                  <Field label="Correlation">
                    <span class="mono">{correlationId}</span>
                  </Field>
                )}
                {compensates !== undefined && (
                  <Field label="Compensates">
                    <span class="mono">{compensates}</span>
                  </Field>
                )}
              </dl>
              <JsonDetails
                summary="Data and hashes"
                value={{ data: event.data, prevHash: event.prevHash, hash: event.hash }}
              />
            </li>
          );
        })}
      </ol>
    </div>
  );
}

/** Restore (undo a soft delete) and revert (compensating events back to the slider's moment), each with a reason. */
function SiteActions(props: { siteId: string; site: Site; moment: number; record: SiteRecord; onChanged: () => void }) {
  const { site, moment, record } = props;
  const path = `/sites/${encodeURIComponent(props.siteId)}`;
  const [reason, setReason] = useState('');
  const [correlationId, setCorrelationId] = useState('');
  const [preview, setPreview] = useState<RevertResult | undefined>(undefined);
  const action = useAction();
  const lastChange = Math.max(...record.events.map((event) => Date.parse(event.occurredAt)));
  const canRestore = site.status === 'deleted';
  const canRevert = site.status !== 'purged' && moment < lastChange;
  const to = isoUtc(moment);
  useEffect(() => setPreview(undefined), [to, reason]);
  const changed = () => {
    setPreview(undefined);
    props.onChanged();
  };
  return (
    <div class="panel actions" aria-label="Actions">
      <h2>Actions</h2>
      {!canRestore && !canRevert && (
        <p class="muted">
          {site.status === 'purged'
            ? 'A purged site is read only.'
            : 'Nothing to undo: move the slider to an earlier moment to revert to it; a deleted site can be restored.'}
        </p>
      )}
      {(canRestore || canRevert) && (
        <>
          <label for="site-reason">Reason (recorded)</label>
          <input id="site-reason" value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
          <label for="site-correlation">Correlation id (optional, e.g. an incident ticket)</label>
          <input
            id="site-correlation"
            value={correlationId}
            onInput={(event) => setCorrelationId(event.currentTarget.value)}
          />
        </>
      )}
      {canRestore && (
        <div class="step">
          <p>Undo the soft delete: the site returns to the status it had before.</p>
          <button
            type="button"
            disabled={action.busy || reason.trim() === ''}
            onClick={async () => {
              const done = await action.run(() =>
                sendJson<Site>('POST', `${path}/restore`, { reason: reason.trim() }, correlationId.trim()),
              );
              if (done !== undefined) changed();
            }}
          >
            Restore site
          </button>
        </div>
      )}
      {canRevert && (
        <div class="step">
          <p>
            Revert to the slider’s moment, <Moment value={to} />: compensating events bring the site back to its state
            then (never a deletion).
          </p>
          {preview === undefined ? (
            <button
              type="button"
              disabled={action.busy || reason.trim() === ''}
              onClick={async () =>
                setPreview(
                  await action.run(() =>
                    sendJson<RevertResult>(
                      'POST',
                      `${path}/revert`,
                      { to, reason: reason.trim(), dryRun: true },
                      correlationId.trim(),
                    ),
                  ),
                )
              }
            >
              Preview revert (dry run)
            </button>
          ) : (
            <div class="preview" role="region" aria-label="Revert preview">
              {preview.events.length === 0 ? (
                <p>Nothing to revert: the site is as it was then.</p>
              ) : (
                <>
                  <p>It would record:</p>
                  <ol>
                    {preview.events.map((event, i) => (
                      <li key={i}>
                        <strong>{event.type}</strong> <span class="mono">{fieldText(event.data)}</span>
                      </li>
                    ))}
                  </ol>
                  <p>
                    and leave the site <StatusBadge status={preview.site.status} />.
                  </p>
                  <button
                    type="button"
                    class="danger"
                    disabled={action.busy}
                    onClick={async () => {
                      const done = await action.run(() =>
                        sendJson<RevertResult>(
                          'POST',
                          `${path}/revert`,
                          { to, reason: reason.trim() },
                          correlationId.trim(),
                        ),
                      );
                      if (done !== undefined) changed();
                    }}
                  >
                    Confirm revert ({preview.events.length} event{preview.events.length === 1 ? '' : 's'})
                  </button>{' '}
                </>
              )}
              <button type="button" onClick={() => setPreview(undefined)}>
                Cancel
              </button>
            </div>
          )}
        </div>
      )}
      <ProblemView error={action.error} />
    </div>
  );
}
