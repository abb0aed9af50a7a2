import { lazy, Suspense } from 'react';
import { EmptyState, LoadingState } from './components/states.js';
import { AuditPage } from './features/audit/audit-page.js';
import { LivePage } from './features/live/live-page.js';
import { ScenariosPage } from './features/scenarios/scenarios-page.js';
import { hrefFor, type Route, useRoute } from './lib/hash-route.js';

// The charts (recharts) and the diff renderer (diff2html) are most of the bundle: load them
// with the pages that need them, so the live view opens fast.
const IncidentPage = lazy(() =>
  import('./features/incidents/incident-page.js').then((module) => ({
    default: module.IncidentPage,
  })),
);
const MetricsPage = lazy(() =>
  import('./features/metrics/metrics-page.js').then((module) => ({
    default: module.MetricsPage,
  })),
);

const NAV = [
  { page: 'live', label: 'Live' },
  { page: 'scenarios', label: 'Scenarios' },
  { page: 'metrics', label: 'Metrics' },
  { page: 'audit', label: 'Audit' },
] as const;

/** The application shell: header, navigation and the page the URL's hash names. */
export function App() {
  const route = useRoute();
  const current = route.page === 'incident' ? 'live' : route.page;

  return (
    <div className="mx-auto flex min-h-screen max-w-7xl flex-col gap-6 px-4 py-6 sm:px-6 sm:py-8">
      <header className="flex flex-col gap-4 sm:flex-row sm:items-center sm:justify-between">
        <a href={hrefFor({ page: 'live' })} className="flex flex-col">
          <span className="text-xl font-semibold tracking-tight">Self-healing commerce agents</span>
          <span className="text-sm text-slate-400">
            Detect, diagnose, patch, verify, heal and backfill, live.
          </span>
        </a>
        <nav aria-label="Main">
          <ul className="flex flex-wrap gap-1">
            {NAV.map((item) => (
              <li key={item.page}>
                <a
                  href={hrefFor({ page: item.page })}
                  aria-current={current === item.page ? 'page' : undefined}
                  className={`block rounded-md px-3 py-1.5 text-sm ${
                    current === item.page
                      ? 'bg-slate-800 text-white'
                      : 'text-slate-300 hover:bg-slate-900 hover:text-white'
                  }`}
                >
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main className="flex flex-col gap-6">
        <Suspense fallback={<LoadingState label="Loading page…" />}>
          <Page route={route} />
        </Suspense>
      </main>
    </div>
  );
}

/** Thin routing: a route picks a feature's page and passes it the route's parameters. */
function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'live':
      return <LivePage />;
    case 'incident':
      // Keyed so a new incident starts from a clean page (and a fresh stream filter).
      return <IncidentPage key={route.id} id={route.id} />;
    case 'scenarios':
      return <ScenariosPage />;
    case 'metrics':
      return <MetricsPage />;
    case 'audit':
      return <AuditPage />;
    case 'not-found':
      return (
        <EmptyState title="No such page">
          Nothing lives at <code>{route.path}</code>.{' '}
          <a className="text-sky-300 hover:underline" href={hrefFor({ page: 'live' })}>
            Go to Live
          </a>
          .
        </EmptyState>
      );
  }
}
