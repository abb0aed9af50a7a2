import { useCallback, useEffect, useState } from 'react';
import { errorMessage } from '../../lib/error-message.js';
import { fetchHealth } from './fetch-health.js';
import type { Health } from './health-schema.js';

/** How often the panel asks again while it is on screen. */
export const HEALTH_REFRESH_MS = 10_000;

/** What the panel knows: the last answer and the last failure, with when each arrived. */
export interface HealthState {
  readonly health: Health | undefined;
  readonly error: string | undefined;
  readonly loading: boolean;
  readonly checkedAt: Date | undefined;
}

/**
 * Polls `/healthz` while mounted. A failed check clears the last answer, so the panel never
 * shows stale backends as if they were current.
 */
export function useHealth(): HealthState & { refresh: () => void } {
  const [state, setState] = useState<HealthState>({
    health: undefined,
    error: undefined,
    loading: true,
    checkedAt: undefined,
  });
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    // Re-run on every manual refresh: the tick is the trigger, not an input.
    void tick;
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    fetchHealth(controller.signal).then(
      (health) => {
        if (controller.signal.aborted) return;
        setState({ health, error: undefined, loading: false, checkedAt: new Date() });
      },
      (error: unknown) => {
        // An aborted check belongs to an unmounted panel or a superseded refresh.
        if (controller.signal.aborted) return;
        setState({
          health: undefined,
          error: errorMessage(error),
          loading: false,
          checkedAt: new Date(),
        });
      },
    );
    const timer = setTimeout(refresh, HEALTH_REFRESH_MS);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [tick, refresh]);

  return { ...state, refresh };
}
