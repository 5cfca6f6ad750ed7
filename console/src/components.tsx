import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiProblem, NotSignedIn } from './api';
import { links } from './router';

/** A status in words and colour (never colour alone): sites and operations alike. */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

/** A moment as the API gives it: UTC, ISO 8601. */
export function Moment({ value }: { value: string | null | undefined }) {
  return value ? <time dateTime={value}>{value}</time> : <span class="muted">—</span>;
}

export function SiteLink({ siteId }: { siteId: string }) {
  return <a href={links.site(siteId)}>{siteId}</a>;
}

/** A link to an operation; `short` shows the first characters of its id (the whole id is its title). */
export function OperationLink({ operationId, short = false }: { operationId: string; short?: boolean }) {
  return (
    <a href={links.operation(operationId)} class="mono nowrap" title={operationId}>
      {short ? abbreviated(operationId) : operationId}
    </a>
  );
}

/** The first characters of a long id, for narrow columns. */
export function abbreviated(id: string, length = 12): string {
  return id.length <= length + 1 ? id : `${id.slice(0, length)}…`;
}

/**
 * An error as the user needs it: a problem's title, status, stable code and
 * detail, and every item of `errors` (a rejected plan lists each ID's problem).
 */
export function ProblemView({ error }: { error: unknown }) {
  if (error === undefined || error === null || error instanceof NotSignedIn) return null;
  if (!(error instanceof ApiProblem))
    return (
      <div class="problem" role="alert">
        <p>
          <strong>The request failed</strong>
        </p>
        <p>{error instanceof Error ? error.message : String(error)}</p>
      </div>
    );
  const { problem, status } = error;
  return (
    <div class="problem" role="alert">
      <p>
        <strong>{problem.title ?? `HTTP ${status}`}</strong> <span class="muted">(HTTP {status})</span>{' '}
        {problem.code && <code class="problem-code">{problem.code}</code>}
      </p>
      {problem.detail && <p class="problem-detail">{problem.detail}</p>}
      {problem.operationId && (
        <p>
          Recorded as <OperationLink operationId={problem.operationId} />.
        </p>
      )}
      {problem.errors && problem.errors.length > 0 && (
        <table class="problem-errors">
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">Problem</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {problem.errors.map((item, i) => (
              <tr key={i}>
                <td class="mono">{item.id ?? item.field ?? '—'}</td>
                <td>
                  <code>{item.problem}</code>
                </td>
                <td>{item.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Reads again, keeping what is shown until the new answer arrives (after an action, on a live event). */
  reload: () => void;
}

/** Data a page shows, read when `deps` change; a read still running when they change again is abandoned. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    loader.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, loading: false });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((previous) => ({ data: previous.data, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [...deps, generation]);
  return { data: state.data, error: state.error, loading: state.loading, reload: () => setGeneration((n) => n + 1) };
}

/** An action a button starts: busy while it runs (its buttons disabled), its error until the next try. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await action();
    } catch (caught) {
      setError(caught);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(undefined) };
}

/** A labelled definition list row. */
export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** JSON for the curious, folded away. */
export function JsonDetails({ summary, value }: { summary: string; value: unknown }) {
  return (
    <details class="json">
      <summary>{summary}</summary>
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

/** A page's title, also the tab's. */
export function PageTitle({ children, title }: { children: ComponentChildren; title: string }) {
  useEffect(() => {
    document.title = `${title} · tenant-ledger console`;
  }, [title]);
  return <h1 id="page-title">{children}</h1>;
}
