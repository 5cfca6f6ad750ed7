import { useState } from 'preact/hooks';
import { getJson, sendJson } from './api';
import { OPERATION_STATUSES, type Operation, type OperationsPage as Page } from './api.types';
import { Moment, OperationLink, PageTitle, ProblemView, StatusBadge, useAction, useLoad } from './components';
import { links, navigate } from './router';

/** Every operation, oldest first, page by page; and the form that plans a new one. */
export function OperationsPage() {
  const [status, setStatus] = useState('');
  const [pages, setPages] = useState<string[]>([]);
  const first = useLoad(
    (signal) => getJson<Page>('/operations', { status: status || undefined, limit: 50 }, signal),
    [status],
  );
  return (
    <section>
      <PageTitle title="Operations">Operations</PageTitle>
      <p class="lede">
        Deletion operations: a reviewed plan, a second person’s approval, progressive waves, a rollback. Open one to
        approve, execute, continue, abort or roll it back.
      </p>
      <PlanForm onRejected={() => (setPages([]), first.reload())} />
      <h2>All operations</h2>
      <div class="filters">
        <label for="op-status">Status</label>
        <select
          id="op-status"
          value={status}
          onChange={(event) => {
            setStatus(event.currentTarget.value);
            setPages([]);
          }}
        >
          <option value="">any</option>
          {OPERATION_STATUSES.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => (setPages([]), first.reload())}>
          Refresh
        </button>
      </div>
      <ProblemView error={first.error} />
      {first.data && (
        <OperationRows
          status={status}
          first={first.data}
          cursors={pages}
          onMore={(cursor) => setPages([...pages, cursor])}
        />
      )}
      {first.loading && <p class="muted">Loading…</p>}
    </section>
  );
}

function OperationRows(props: { status: string; first: Page; cursors: string[]; onMore: (cursor: string) => void }) {
  const later = useLoad(
    async (signal) => {
      const loaded: Page[] = [];
      for (const cursor of props.cursors)
        loaded.push(
          await getJson<Page>('/operations', { status: props.status || undefined, limit: 50, cursor }, signal),
        );
      return loaded;
    },
    [props.cursors.join(','), props.first],
  );
  const pages = [props.first, ...(later.data ?? [])];
  const operations = pages.flatMap((page) => page.operations);
  const next = pages.at(-1)?.nextCursor;
  if (operations.length === 0)
    return <p class="muted">No operations{props.status && ` with status ${props.status}`}.</p>;
  return (
    <>
      <table class="list" aria-label="Operations">
        <thead>
          <tr>
            <th scope="col">Operation</th>
            <th scope="col">Status</th>
            <th scope="col">Reason</th>
            <th scope="col">Ticket</th>
            <th scope="col">Requested by</th>
            <th scope="col">Created (UTC)</th>
            <th scope="col" class="num">
              Sites
            </th>
            <th scope="col" class="num">
              Deleted / restored
            </th>
          </tr>
        </thead>
        <tbody>
          {operations.map((operation: Operation) => (
            <tr key={operation.operationId}>
              <td>
                <OperationLink operationId={operation.operationId} />
              </td>
              <td>
                <StatusBadge status={operation.status} />
              </td>
              <td>{operation.reason}</td>
              <td>{operation.ticket ?? '—'}</td>
              <td>{operation.requestedBy}</td>
              <td>
                <Moment value={operation.createdAt} />
              </td>
              <td class="num">{operation.summary.sites}</td>
              <td class="num">
                {operation.progress.deleted} / {operation.progress.restored}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ProblemView error={later.error} />
      {next !== undefined && (
        <button type="button" onClick={() => props.onMore(next)} disabled={later.loading}>
          More operations
        </button>
      )}
    </>
  );
}

/** POST /v1/operations: every ID is resolved; a problem with any of them rejects the whole plan (422, recorded). */
function PlanForm({ onRejected }: { onRejected: () => void }) {
  const [siteIds, setSiteIds] = useState('');
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const action = useAction();
  const ids = siteIds.split(/[\s,;]+/).filter((id) => id !== '');
  const submit = async (event: Event) => {
    event.preventDefault();
    const planned = await action.run(() =>
      sendJson<Operation>('POST', '/operations', {
        action: 'soft-delete',
        siteIds: ids,
        reason: reason.trim(),
        ...(ticket.trim() === '' ? {} : { ticket: ticket.trim() }),
      }),
    );
    // A rejected plan is recorded too (422 with its operationId): the list shows it.
    if (planned === undefined) onRejected();
    else navigate(links.operation(planned.operationId));
  };
  return (
    <details class="panel">
      <summary>Plan a soft delete</summary>
      <form onSubmit={submit} class="stack" aria-label="Plan a soft delete">
        <label for="plan-sites">Site IDs (one per line, or separated by spaces or commas)</label>
        <textarea id="plan-sites" rows={5} value={siteIds} onInput={(event) => setSiteIds(event.currentTarget.value)} />
        <label for="plan-reason">Reason (recorded)</label>
        <input id="plan-reason" required value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
        <label for="plan-ticket">Ticket (optional)</label>
        <input id="plan-ticket" value={ticket} onInput={(event) => setTicket(event.currentTarget.value)} />
        <button type="submit" disabled={action.busy || ids.length === 0 || reason.trim() === ''}>
          Plan deletion of {ids.length} site{ids.length === 1 ? '' : 's'}
        </button>
        <p class="hint">
          Planning deletes nothing: it resolves every ID and records the plan for review. A second person approves it;
          then it runs in waves, the provider’s own sites first.
        </p>
      </form>
      <ProblemView error={action.error} />
    </details>
  );
}
