import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { AuditPage } from './audit.page';
import { FleetPage } from './fleet.page';
import { OperationPage } from './operation.page';
import { OperationsPage } from './operations.page';
import { links, navigate, useRoute, type Route } from './router';
import { signOut, useSession } from './session';
import { SignInPage } from './sign-in.page';
import { SitePage } from './site.page';

export function App() {
  const session = useSession();
  const route = useRoute();
  if (session.token === null) return <SignInPage notice={session.notice} />;
  return (
    <Layout route={route}>
      <Page route={route} />
    </Layout>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'operations':
      return <OperationsPage />;
    case 'operation':
      return <OperationPage key={route.operationId} operationId={route.operationId} />;
    case 'site':
      return <SitePage key={route.siteId} siteId={route.siteId} />;
    case 'fleet':
      return <FleetPage />;
    case 'audit':
      return <AuditPage key={route.query.toString()} query={route.query} />;
    case 'not-found':
      return (
        <section>
          <h1>No such page</h1>
          <p>
            Nothing lives at <code>#{route.path}</code>. Try <a href={links.operations()}>the operations</a>.
          </p>
        </section>
      );
    default: {
      const unknown: never = route;
      throw new Error(`unhandled route ${JSON.stringify(unknown)}`);
    }
  }
}

const NAV: { href: string; label: string; pages: Route['page'][] }[] = [
  { href: links.operations(), label: 'Operations', pages: ['operations', 'operation'] },
  { href: links.fleet(), label: 'Fleet', pages: ['fleet'] },
  { href: links.audit(), label: 'Audit', pages: ['audit'] },
];

function Layout({ route, children }: { route: Route; children: ComponentChildren }) {
  const [siteId, setSiteId] = useState('');
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(event) => (event.preventDefault(), document.getElementById('main')?.focus())}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">tenant-ledger</span>
        <nav aria-label="Pages">
          {NAV.map((item) => (
            <a key={item.href} href={item.href} aria-current={item.pages.includes(route.page) ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <form
          class="site-jump"
          role="search"
          onSubmit={(event) => {
            event.preventDefault();
            if (siteId.trim() === '') return;
            navigate(links.site(siteId.trim()));
            setSiteId('');
          }}
        >
          <label for="site-jump">Site</label>
          <input
            id="site-jump"
            placeholder="site ID"
            value={siteId}
            onInput={(event) => setSiteId(event.currentTarget.value)}
          />
          <button type="submit">Open</button>
        </form>
        <button type="button" class="sign-out" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer class="foot">
        Times are UTC (ISO 8601). API reference: <a href="/docs">/docs</a>.
      </footer>
    </>
  );
}
