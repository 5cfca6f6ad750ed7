import { useEffect, useState } from 'preact/hooks';

/**
 * The bearer token, for this browser tab only: sessionStorage (gone when the
 * tab closes, never sent anywhere by the browser on its own), never
 * localStorage or a cookie.
 */
const TOKEN_KEY = 'tenant-ledger.console.token';

export interface Session {
  token: string | null;
  /** Why the user is on the sign-in page, when it was not their choice (a refused token). */
  notice: string | null;
}

let notice: string | null = null;
const listeners = new Set<() => void>();

function read(): Session {
  return { token: sessionStorage.getItem(TOKEN_KEY), notice };
}

function changed(): void {
  for (const listener of listeners) listener();
}

export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  notice = null;
  changed();
}

/** Forgets the token; `why` is shown on the sign-in page (a 401), nothing when the user signed out. */
export function signOut(why: string | null = null): void {
  sessionStorage.removeItem(TOKEN_KEY);
  notice = why;
  changed();
}

/** The session, re-rendering its component on sign-in and sign-out. */
export function useSession(): Session {
  const [session, setSession] = useState(read);
  useEffect(() => {
    const update = () => setSession(read());
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return session;
}
