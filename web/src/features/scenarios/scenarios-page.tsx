import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Panel } from '../../components/panel.js';
import { EmptyState, ErrorState, LoadingState } from '../../components/states.js';
import { errorMessage } from '../../lib/error-message.js';
import { formatDuration } from '../../lib/format.js';
import { hrefFor } from '../../lib/hash-route.js';
import { useAdminAction } from '../admin/use-admin-action.js';
import { auditKeys } from '../audit/audit-queries.js';
import { incidentKeys, releaseKeys } from '../incidents/incident-queries.js';
import {
  fetchScenarios,
  type InjectResult,
  injectScenario,
  resetScenarios,
  type Scenario,
} from './scenarios-api.js';

export const scenarioKeys = { all: ['scenarios'] as const };

/** What an inject did, in a sentence: the release that went live, the pushes and the calls. */
function injectedText(scenario: Scenario, result: InjectResult): string {
  const pushes =
    result.push_ids?.length ?? (result.push_id !== undefined || result.items !== undefined ? 1 : 0);
  const items = result.items === undefined ? '' : ` of ${result.items} items`;
  const parts = [
    result.release && `release ${result.release} is live`,
    pushes === 1 && `a push${items} arrived`,
    pushes > 1 && `${pushes} pushes${items && `${items} in all`} arrived`,
    result.calls?.length &&
      `${result.calls.length} customer ${result.calls.length === 1 ? 'call' : 'calls'} made`,
  ].filter((part): part is string => typeof part === 'string' && part.length > 0);
  return `Injected “${scenario.name}”${parts.length > 0 ? `: ${parts.join(', ')}` : ''}.`;
}

/**
 * The fault library: each scenario with what it breaks, an `Inject <name>` button, and a reset
 * that puts the demo target back on its first release. Both need the admin token.
 */
export function ScenariosPage() {
  const queryClient = useQueryClient();
  const scenarios = useQuery({
    queryKey: scenarioKeys.all,
    queryFn: ({ signal }) => fetchScenarios(signal),
  });
  const [outcome, setOutcome] = useState<string | undefined>();

  const refreshAll = () => {
    void queryClient.invalidateQueries({ queryKey: incidentKeys.all });
    void queryClient.invalidateQueries({ queryKey: releaseKeys.all });
    void queryClient.invalidateQueries({ queryKey: auditKeys.all });
  };
  const inject = useAdminAction((token, scenario: Scenario) => injectScenario(scenario.id, token), {
    onSuccess: (result, scenario) => {
      setOutcome(injectedText(scenario, result));
      refreshAll();
    },
  });
  const resetDemo = useAdminAction((token) => resetScenarios(token), {
    onSuccess: (result) => {
      setOutcome(
        `Reset${result.active_release ? `: release ${result.active_release} is live again` : ''}${
          result.duration_ms !== undefined ? ` (${formatDuration(result.duration_ms)})` : ''
        }.`,
      );
      refreshAll();
    },
  });
  const busy = inject.isPending || resetDemo.isPending;
  const failed = inject.error ?? resetDemo.error;
  const start = () => {
    setOutcome(undefined);
    inject.reset();
    resetDemo.reset();
  };

  return (
    <div className="flex flex-col gap-6">
      <div className="flex flex-col justify-between gap-3 sm:flex-row sm:items-start">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Scenarios</h1>
          <p className="text-sm text-slate-400">
            Real faults for the demo target: each goes through the real webhook and sensors.
          </p>
        </div>
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            start();
            resetDemo.mutate(undefined);
          }}
          className="self-start rounded-md border border-slate-700 px-3 py-1.5 text-sm text-slate-200 hover:bg-slate-800 disabled:opacity-50"
        >
          Reset demo
        </button>
      </div>

      {failed && (
        <p role="alert" className="rounded-md bg-red-950/60 px-3 py-2 text-sm text-red-200">
          {errorMessage(failed)}
        </p>
      )}
      {outcome && !failed && (
        <p
          role="status"
          className="rounded-md bg-emerald-950/60 px-3 py-2 text-sm text-emerald-200"
        >
          {outcome}{' '}
          <a className="underline" href={hrefFor({ page: 'live' })}>
            Watch it live
          </a>
        </p>
      )}

      {scenarios.isPending ? (
        <LoadingState label="Loading scenarios…" />
      ) : scenarios.isError ? (
        <ErrorState
          what="scenarios"
          error={scenarios.error}
          onRetry={() => void scenarios.refetch()}
        />
      ) : scenarios.data.length === 0 ? (
        <EmptyState title="No scenarios">
          This runtime runs no demo target, so there is no fault to inject.
        </EmptyState>
      ) : (
        <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
          {scenarios.data.map((scenario) => (
            <Panel key={scenario.id} title={scenario.name}>
              <div className="flex flex-col gap-3">
                <p className="text-sm text-slate-300">{scenario.description}</p>
                <p className="text-xs text-slate-400">
                  Expected diagnosis: <span className="font-mono">{scenario.fault_class}</span>
                </p>
                {scenario.expected && (
                  <p className="text-xs text-slate-400">
                    Expected outcome: <span className="font-mono">{scenario.expected}</span>
                  </p>
                )}
                <button
                  type="button"
                  aria-label={`Inject ${scenario.name}`}
                  disabled={busy}
                  onClick={() => {
                    start();
                    inject.mutate(scenario);
                  }}
                  className="self-start rounded-md bg-red-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-500 disabled:opacity-50"
                >
                  Inject
                </button>
              </div>
            </Panel>
          ))}
        </div>
      )}
    </div>
  );
}
