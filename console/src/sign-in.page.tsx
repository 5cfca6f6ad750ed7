import { useState } from 'preact/hooks';
import { checkToken } from './api';
import { PageTitle, ProblemView } from './components';
import { signIn } from './session';

/** The bearer token, checked with the service before it is kept (in this tab only). */
export function SignInPage({ notice }: { notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const candidate = token.trim();
    if (candidate === '') return;
    setBusy(true);
    setError(undefined);
    try {
      const refused = await checkToken(candidate);
      if (refused === undefined) signIn(candidate);
      else setError(refused);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <PageTitle title="Sign in">tenant-ledger console</PageTitle>
      {notice && (
        <p class="notice" role="alert" id="sign-in-notice">
          {notice}
        </p>
      )}
      <form onSubmit={submit} class="stack">
        <label for="token">Bearer token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      <ProblemView error={error} />
      <p class="hint">
        The token stays in this browser tab only (sessionStorage) and is sent with every call the console makes. On the
        service’s first start, each principal’s token is in <code>data/initial-tokens.txt</code>.
      </p>
    </main>
  );
}
