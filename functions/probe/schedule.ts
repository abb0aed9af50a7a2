import type { Ports } from '../runtime/ports.js';
import { targetBaseUrl } from '../runtime/require-target.js';
import { publishSignal } from '../runtime/signals.js';
import type { TargetRuntime } from '../target/target-runtime.js';
import { runProbes, signalsOf } from './run-probes.js';

export interface ScheduledProbeOptions {
  readonly intervalMs: number;
  /** SKUs probed per tick, taken in turn from the target's SKUs. */
  readonly sampleSize?: number;
}

/**
 * Probes a rotating sample of the target's SKUs every `intervalMs`, so a fault that no catalog
 * push reveals (a dependency going down, a release gone bad) is still noticed. Returns a stop
 * function that waits for the tick in flight.
 */
export function startScheduledProbe(
  ports: Ports,
  target: TargetRuntime & { skus(): Promise<string[]> },
  options: ScheduledProbeOptions,
): () => Promise<void> {
  const sampleSize = options.sampleSize ?? 5;
  let cursor = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = async () => {
    const skus = (await target.skus()).sort();
    if (skus.length === 0) return;
    const sample = Array.from({ length: Math.min(sampleSize, skus.length) }, (_, i) => {
      return skus[(cursor + i) % skus.length] as string;
    });
    cursor = (cursor + sample.length) % skus.length;
    const { findings } = await runProbes(target.manifest, sample, {
      baseUrl: targetBaseUrl(ports),
      timeoutMs: ports.config.PROBE_TIMEOUT_MS,
      now: new Date(),
    });
    const release = target.deployer.active()?.release.id;
    for (const data of signalsOf(
      target.manifest.name,
      findings,
      release ? { release_id: release } : {},
    )) {
      await publishSignal(ports, data, { source: 'probe/schedule' });
    }
  };
  const timer = setInterval(() => {
    inFlight = inFlight
      .then(tick)
      .catch((error: unknown) => ports.logger.warn({ err: error }, 'scheduled probe failed'));
  }, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await inFlight;
  };
}
