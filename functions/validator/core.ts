import { createEvent, type EventOf } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import { requireTarget } from '../runtime/require-target.js';
import { recordSignal } from '../runtime/signals.js';
import type { StageCore } from '../runtime/stage-handler.js';

/** At most this many SKUs are named in a signal; `sku_count` always has the full count. */
export const MAX_SIGNAL_SKUS = 1_000;
const MAX_SAMPLES = 5;

interface FieldFailures {
  path: string;
  skus: string[];
  samples: Array<{ sku: string; value: unknown }>;
}

/** Reads a value at a zod issue path, for the sample the signal shows. */
const valueAt = (record: unknown, path: readonly PropertyKey[]): unknown => {
  let value: unknown = record;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
};

/**
 * Stage `validator`: reads back the records the target's sync just committed and checks each
 * against the target's record contract. Failures are grouped by contract field, so a push of
 * 10,000 items with one broken field is one `SchemaMismatch` signal with a count, not 10,000.
 */
export const validatorCore: StageCore<'target.write'> = async (event, ports, context) => {
  const target = requireTarget(ports, 'validator');
  const contract = target.manifest.recordContract;
  const byField = new Map<string, FieldFailures>();
  let checked = 0;

  const stored = await target.records.getMany(event.data.skus);
  for (const { sku, record } of stored) {
    checked += 1;
    const result = contract.safeParse(record);
    if (result.success) continue;
    const seen = new Set<string>();
    for (const issue of result.error.issues) {
      const field = String(issue.path[0] ?? '(record)');
      if (seen.has(field)) continue;
      seen.add(field);
      const failures = byField.get(field) ?? { path: issue.path.join('.'), skus: [], samples: [] };
      failures.skus.push(sku);
      if (failures.samples.length < MAX_SAMPLES) {
        failures.samples.push({ sku, value: valueAt(record, issue.path.slice(0, 1)) ?? null });
      }
      byField.set(field, failures);
    }
  }

  const signals: EventOf<'signal'>[] = [];
  for (const [field, failures] of byField) {
    const signal = createEvent(
      'signal',
      {
        kind: 'SchemaMismatch',
        target: target.manifest.name,
        field,
        path: failures.path,
        skus: failures.skus.slice(0, MAX_SIGNAL_SKUS),
        sku_count: failures.skus.length,
        samples: failures.samples,
        release_id: event.data.release_id,
        push_id: event.data.push_id,
        onset_at: event.data.committed_at,
        message: `${failures.skus.length} of ${checked} records written by ${event.data.release_id} break the contract at ${field}`,
      },
      { source: 'validator', id: context.idFor(signals.length) },
    );
    await recordSignal(ports, signal);
    signals.push(signal);
  }

  return {
    status: 'ok',
    outputs: signals.map((signal) => ({ stream: streams.signals, event: signal })),
    detail: {
      push_id: event.data.push_id,
      checked,
      missing: event.data.skus.length - checked,
      signals: signals.map((s) => ({ field: s.data.field, sku_count: s.data.sku_count })),
    },
  };
};
