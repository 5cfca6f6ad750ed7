import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, sendJson } from './api';
import type { LedgerEvent, Operation, RollbackResult, SkippedSite, Wave } from './api.types';
import {
  Field,
  Moment,
  PageTitle,
  ProblemView,
  SiteLink,
  StatusBadge,
  useAction,
  useLoad,
  type Loaded,
} from './components';
import { followEvents, type StreamState } from './event-stream';
import { links } from './router';

const sites = (n: number): string => `${n} site${n === 1 ? '' : 's'}`;

/** How many live events the page keeps on screen. */
const FEED_SIZE = 40;

/**
 * One operation: its plan (summary, digest, targets), approvals, waves with
 * live progress (GET /v1/events/stream?operationId=…, from the operation's
 * lastPosition: exactly what it does next), skipped sites, rollbacks, and the
 * steps its status allows.
 */
export function OperationPage({ operationId }: { operationId: string }) {
  const operation = useLoad(
    (signal) => getJson<Operation>(`/operations/${encodeURIComponent(operationId)}`, undefined, signal),
    [operationId],
  );
  const live = useLiveEvents(operationId, operation);
  const op = operation.data;
  return (
    <section>
      <PageTitle title={`Operation ${operationId}`}>
        Operation <span class="mono">{operationId}</span>
      </PageTitle>
      <ProblemView error={operation.error} />
      {op === undefined ? (
        operation.loading && <p class="muted">Loading…</p>
      ) : (
        <>
          <p class="status-line" aria-live="polite">
            Status <StatusBadge status={op.status} /> <LiveIndicator state={live.state} why={live.why} />
          </p>
          <div class="columns">
            <PlanSummary op={op} />
            <Actions op={op} onDone={operation.reload} />
          </div>
          <Progress op={op} />
          <Waves op={op} />
          <Skipped op={op} />
          <Rollbacks op={op} />
          <Targets op={op} />
          <Feed events={live.events} />
        </>
      )}
    </section>
  );
}

/** The operation's events as they commit; each one reloads the operation (debounced). */
function useLiveEvents(operationId: string, operation: Loaded<Operation>) {
  const [events, setEvents] = useState<LedgerEvent[]>([]);
  const [state, setState] = useState<StreamState>('connecting');
  const [why, setWhy] = useState<string | undefined>(undefined);
  const from = useRef<string | undefined>(undefined);
  if (from.current === undefined && operation.data !== undefined) from.current = operation.data.lastPosition;
  const start = from.current;
  const reload = useRef(operation.reload);
  reload.current = operation.reload;
  useEffect(() => {
    if (start === undefined) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    void followEvents({
      query: { operationId, from: start },
      signal: controller.signal,
      onState: (next, reason) => {
        setState(next);
        setWhy(reason);
      },
      onEvent: (event) => {
        setEvents((shown) => [event, ...shown].slice(0, FEED_SIZE));
        clearTimeout(timer);
        timer = setTimeout(() => reload.current(), 100);
      },
    });
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [operationId, start]);
  return { events, state, why };
}

function LiveIndicator({ state, why }: { state: StreamState; why: string | undefined }) {
  const words: Record<StreamState, string> = {
    connecting: 'connecting to live updates…',
    live: 'live',
    reconnecting: 'reconnecting…',
    stopped: `live updates stopped${why ? `: ${why}` : ''}`,
  };
  return (
    <span class={`live live-${state}`} data-state={state}>
      {words[state]}
    </span>
  );
}

function PlanSummary({ op }: { op: Operation }) {
  return (
    <div class="panel">
      <h2>Plan</h2>
      <dl class="fields">
        <Field label="Action">{op.action}</Field>
        <Field label="Reason">{op.reason}</Field>
        <Field label="Ticket">{op.ticket ?? '—'}</Field>
        <Field label="Requested by">{op.requestedBy}</Field>
        <Field label="Created">
          <Moment value={op.createdAt} />
        </Field>
        <Field label="Updated">
          <Moment value={op.updatedAt} />
        </Field>
        <Field label="Sites">
          <span id="summary-sites">{op.summary.sites}</span> ({op.summary.customers} customers,{' '}
          {op.summary.internalSites} internal)
        </Field>
        <Field label="Digest">
          <code class="digest" id="digest">
            {op.digest ?? '— (rejected)'}
          </code>
        </Field>
        <Field label="Approvals">
          <span id="approval-count">
            {op.approvals.length} of {op.requiredApprovals}
          </span>
          {op.approvals.length > 0 && (
            <ul class="plain">
              {op.approvals.map((approval) => (
                <li key={approval.approvedBy}>
                  {approval.approvedBy} at <Moment value={approval.approvedAt} />
                </li>
              ))}
            </ul>
          )}
        </Field>
        <Field label="Audit trail">
          <a href={links.audit({ operationId: op.operationId })}>every event of this operation</a>
        </Field>
      </dl>
      {op.problems && op.problems.length > 0 && (
        <>
          <h3>Why the plan was rejected</h3>
          <ul>
            {op.problems.map((problem, i) => (
              <li key={i}>
                <code>{problem.problem}</code> {problem.id && <span class="mono">{problem.id}</span>}: {problem.detail}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function Progress({ op }: { op: Operation }) {
  const { deleted, skipped, restored, total } = op.progress;
  return (
    <div class="panel">
      <h2>Progress</h2>
      <p id="progress-text">
        {deleted} deleted, {skipped} skipped, {restored} restored of {total} sites
      </p>
      <progress class="bar" max={Math.max(total, 1)} value={deleted + skipped} aria-labelledby="progress-text" />
    </div>
  );
}

function Waves({ op }: { op: Operation }) {
  return (
    <div class="panel">
      <h2>Waves</h2>
      <table class="list" aria-label="Waves">
        <thead>
          <tr>
            <th scope="col">Wave</th>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Deleted</th>
            <th scope="col">Skipped</th>
            <th scope="col">Started (UTC)</th>
            <th scope="col">Ended (UTC)</th>
            <th scope="col">Started by</th>
          </tr>
        </thead>
        <tbody>
          {op.waves.map((wave) => (
            <WaveRow key={wave.index} wave={wave} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function WaveRow({ wave }: { wave: Wave }) {
  const done = wave.deleted.length + wave.skipped.length;
  return (
    <tr data-wave={wave.index} data-status={wave.status}>
      <th scope="row">{wave.index}</th>
      <td>{wave.kind}</td>
      <td>
        <StatusBadge status={wave.status} />
      </td>
      <td class="wave-progress">
        <progress class="bar small" max={wave.siteIds.length} value={done} aria-label={`wave ${wave.index} progress`} />{' '}
        <span class="wave-count">
          {done} / {wave.siteIds.length}
        </span>
      </td>
      <td>
        <SiteList ids={wave.deleted} />
      </td>
      <td>
        {wave.skipped.length === 0 ? (
          '—'
        ) : (
          <ul class="plain">
            {wave.skipped.map((skip) => (
              <li key={skip.siteId}>
                <SiteLink siteId={skip.siteId} /> <code>{skip.reason}</code>
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>
        <Moment value={wave.startedAt} />
      </td>
      <td>
        <Moment value={wave.endedAt} />
      </td>
      <td>{wave.continuedBy ?? '—'}</td>
    </tr>
  );
}

function SiteList({ ids }: { ids: string[] }) {
  if (ids.length === 0) return <>—</>;
  return (
    <span class="site-list">
      {ids.map((id, i) => (
        <span key={id}>
          {i > 0 && ', '}
          <SiteLink siteId={id} />
        </span>
      ))}
    </span>
  );
}

function Skipped({ op }: { op: Operation }) {
  const skipped: (SkippedSite & { wave: number })[] = op.waves.flatMap((wave) =>
    wave.skipped.map((skip) => ({ ...skip, wave: wave.index })),
  );
  return (
    <div class="panel" id="skipped">
      <h2>Skipped sites</h2>
      {skipped.length === 0 ? (
        <p class="muted">None skipped.</p>
      ) : (
        <table class="list" aria-label="Skipped sites">
          <thead>
            <tr>
              <th scope="col">Site</th>
              <th scope="col">Wave</th>
              <th scope="col">Why (the rule that kept it)</th>
            </tr>
          </thead>
          <tbody>
            {skipped.map((skip) => (
              <tr key={skip.siteId}>
                <td>
                  <SiteLink siteId={skip.siteId} />
                </td>
                <td>{skip.wave}</td>
                <td>
                  <code>{skip.reason}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Rollbacks({ op }: { op: Operation }) {
  if (op.rollbacks.length === 0) return null;
  return (
    <div class="panel">
      <h2>Rollbacks</h2>
      <ul>
        {op.rollbacks.map((rollback, i) => (
          <li key={i}>
            <Moment value={rollback.at} /> by {rollback.rolledBackBy} (“{rollback.reason}”): restored{' '}
            {rollback.restored.length} <SiteList ids={rollback.restored} />
            {rollback.skipped.length > 0 && (
              <>; skipped {rollback.skipped.map((s) => `${s.siteId} (${s.reason})`).join(', ')}</>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Targets({ op }: { op: Operation }) {
  return (
    <details class="panel">
      <summary>
        <h2 class="inline">Targets ({op.targets.length})</h2>
      </summary>
      <table class="list" aria-label="Targets">
        <thead>
          <tr>
            <th scope="col">Site</th>
            <th scope="col">Customer</th>
            <th scope="col">Name</th>
            <th scope="col">Internal</th>
            <th scope="col">Status when planned</th>
            <th scope="col">Products</th>
          </tr>
        </thead>
        <tbody>
          {op.targets.map((target) => (
            <tr key={target.siteId}>
              <td>
                <SiteLink siteId={target.siteId} />
              </td>
              <td>{target.customerId}</td>
              <td>{target.name}</td>
              <td>{target.internal ? 'yes' : 'no'}</td>
              <td>
                <StatusBadge status={target.status} />
              </td>
              <td>
                {target.products.map((product) => `${product.installationId} (${product.productKey})`).join(', ') ||
                  '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function Feed({ events }: { events: LedgerEvent[] }) {
  return (
    <div class="panel">
      <h2>Live events (newest first)</h2>
      {events.length === 0 ? (
        <p class="muted">Nothing yet: events of this operation appear here as they are committed.</p>
      ) : (
        <ul class="feed" aria-label="Live events">
          {events.map((event) => (
            <li key={event.eventId}>
              <span class="mono">#{event.position}</span> <Moment value={event.occurredAt} />{' '}
              <strong>{event.type}</strong> <span class="mono">{event.streamId}</span> by {event.actor}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The steps this operation's status allows; the API has the last word (a 403 or 409 shows as its problem). */
function Actions({ op, onDone }: { op: Operation; onDone: () => void }) {
  const [correlationId, setCorrelationId] = useState('');
  const path = `/operations/${encodeURIComponent(op.operationId)}`;
  const action = useAction();
  const step = async (name: string, body: unknown) => {
    const done = await action.run(() => sendJson<Operation>('POST', `${path}/${name}`, body, correlationId.trim()));
    if (done !== undefined) onDone();
  };
  const nextWave = op.waves.find((wave) => wave.status === 'pending');
  const canAbort = ['planned', 'approved', 'running', 'paused'].includes(op.status);
  const canRollBack = ['running', 'paused', 'completed', 'aborted', 'rolled-back'].includes(op.status);
  return (
    <div class="panel actions" aria-label="Actions">
      <h2>Actions</h2>
      <label for="correlation-id">Correlation id (optional; recorded on the events, e.g. an incident ticket)</label>
      <input
        id="correlation-id"
        value={correlationId}
        onInput={(event) => setCorrelationId(event.currentTarget.value)}
      />
      {op.status === 'planned' && op.digest !== null && (
        <div class="step">
          <p>
            Approving says you reviewed this plan: the targets and waves below, digest <code>{op.digest}</code>.
          </p>
          <button type="button" disabled={action.busy} onClick={() => step('approve', { digest: op.digest })}>
            Approve plan
          </button>
        </div>
      )}
      {op.status === 'approved' && op.digest !== null && (
        <div class="step">
          <p>
            Runs wave 1 ({op.waves[0]?.kind}, {sites(op.waves[0]?.siteIds.length ?? 0)}), then pauses.
          </p>
          <button type="button" disabled={action.busy} onClick={() => step('execute', { digest: op.digest })}>
            Execute
          </button>
        </div>
      )}
      {op.status === 'paused' && nextWave !== undefined && (
        <div class="step">
          <p>
            Runs wave {nextWave.index} ({nextWave.kind}, {sites(nextWave.siteIds.length)}), then pauses.
          </p>
          <button type="button" disabled={action.busy} onClick={() => step('continue', {})}>
            Continue with wave {nextWave.index}
          </button>
        </div>
      )}
      {canAbort && <AbortForm busy={action.busy} onAbort={(reason) => step('abort', { reason })} />}
      {canRollBack && <RollbackForm path={path} correlationId={correlationId.trim()} onDone={onDone} />}
      {!canAbort && !canRollBack && op.status !== 'approved' && (
        <p class="muted">No step left for a {op.status} operation.</p>
      )}
      <ProblemView error={action.error} />
    </div>
  );
}

function AbortForm({ busy, onAbort }: { busy: boolean; onAbort: (reason: string) => void }) {
  const [reason, setReason] = useState('');
  return (
    <form
      class="step"
      aria-label="Abort"
      onSubmit={(event) => {
        event.preventDefault();
        onAbort(reason.trim());
      }}
    >
      <label for="abort-reason">
        Reason to abort (stops further waves; deleted sites stay deleted until a rollback)
      </label>
      <input id="abort-reason" value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
      <button type="submit" class="danger" disabled={busy || reason.trim() === ''}>
        Abort
      </button>
    </form>
  );
}

/** A rollback is previewed (dryRun) and confirmed: the preview lists what it would restore and what it would skip. */
function RollbackForm({ path, correlationId, onDone }: { path: string; correlationId: string; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [preview, setPreview] = useState<RollbackResult | undefined>(undefined);
  const [result, setResult] = useState<RollbackResult | undefined>(undefined);
  const action = useAction();
  const rollback = (dryRun: boolean) =>
    action.run(() =>
      sendJson<RollbackResult>('POST', `${path}/rollback`, { reason: reason.trim(), dryRun }, correlationId),
    );
  return (
    <div class="step" aria-label="Roll back">
      <label for="rollback-reason">
        Reason to roll back (restores every site this operation deleted that is still deleted)
      </label>
      <input
        id="rollback-reason"
        value={reason}
        onInput={(event) => {
          setReason(event.currentTarget.value);
          setPreview(undefined);
        }}
      />
      {preview === undefined ? (
        <button
          type="button"
          disabled={action.busy || reason.trim() === ''}
          onClick={async () => {
            setResult(undefined);
            setPreview(await rollback(true));
          }}
        >
          Preview rollback (dry run)
        </button>
      ) : (
        <div class="preview" role="region" aria-label="Rollback preview">
          <p>
            <strong>Dry run:</strong> a rollback would restore{' '}
            <span id="preview-restored-count">{sites(preview.restored.length)}</span>
            {preview.restored.length > 0 && (
              <>
                : <SiteList ids={preview.restored} />
              </>
            )}
            .
          </p>
          {preview.skipped.length > 0 && (
            <p>
              It would skip:{' '}
              {preview.skipped.map((skip) => (
                <span key={skip.siteId}>
                  <SiteLink siteId={skip.siteId} /> (<code>{skip.reason}</code>){' '}
                </span>
              ))}
            </p>
          )}
          <button
            type="button"
            class="danger"
            disabled={action.busy}
            onClick={async () => {
              const done = await rollback(false);
              if (done !== undefined) {
                setResult(done);
                setPreview(undefined);
                onDone();
              }
            }}
          >
            Confirm rollback of {sites(preview.restored.length)}
          </button>{' '}
          <button type="button" onClick={() => setPreview(undefined)} disabled={action.busy}>
            Cancel
          </button>
        </div>
      )}
      {result !== undefined && (
        <p role="status" id="rollback-result">
          Rolled back: restored {result.restored.length}, skipped {result.skipped.length}.
        </p>
      )}
      <ProblemView error={action.error} />
    </div>
  );
}
