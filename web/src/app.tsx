import { HealthPanel } from './features/health/health-panel.js';

/** The application shell: product header and the runtime status. */
export function App() {
  return (
    <div className="mx-auto flex min-h-screen max-w-5xl flex-col gap-8 px-6 py-10">
      <header className="flex flex-col gap-2">
        <h1 className="text-3xl font-semibold tracking-tight">Self-healing commerce agents</h1>
        <p className="text-slate-400">
          Detects, diagnoses, patches, verifies, heals and backfills an e-commerce service, live.
        </p>
      </header>
      <main className="flex flex-col gap-6">
        <HealthPanel />
      </main>
    </div>
  );
}
