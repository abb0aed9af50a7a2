import { describe, expect, it } from 'vitest';
import { createEvent } from '../events/index.js';
import { earlierOnset } from '../functions/rca/incidents.js';

const signalWith = (onset_at: string | undefined, occurredAt: string) =>
  createEvent(
    'signal',
    {
      kind: 'SchemaMismatch',
      target: 'demo-shop',
      field: 'return_policy',
      skus: ['SKU-1001'],
      sku_count: 1,
      samples: [{ sku: 'SKU-1001', value: null }],
      ...(onset_at ? { onset_at } : {}),
    },
    { source: 'test', now: new Date(occurredAt) },
  );

describe('rca: the onset of an incident', () => {
  it('moves back to a joining signal whose onset is earlier, the detection time kept', () => {
    // A probe opened the incident when it saw the failing response (its own onset, ttd 0); the
    // validator's signal names the commit of the first broken record 30 ms earlier.
    const probeOpened = { onset_at: '2026-01-01T12:00:00.050Z', ttd_ms: 0 };
    const validator = signalWith('2026-01-01T12:00:00.020Z', '2026-01-01T12:00:00.061Z');

    expect(earlierOnset(probeOpened, validator)).toEqual({
      onset_at: '2026-01-01T12:00:00.020Z',
      ttd_ms: 30,
    });
  });

  it('keeps the detection time of the first signal, not the joining one', () => {
    const opened = { onset_at: '2026-01-01T12:00:00.100Z', ttd_ms: 15 };
    const later = signalWith('2026-01-01T12:00:00.040Z', '2026-01-01T12:00:00.400Z');

    expect(earlierOnset(opened, later)).toEqual({
      onset_at: '2026-01-01T12:00:00.040Z',
      ttd_ms: 75,
    });
  });

  it('changes nothing for a signal whose onset is the same or later', () => {
    const opened = { onset_at: '2026-01-01T12:00:00.020Z', ttd_ms: 12 };

    expect(
      earlierOnset(opened, signalWith('2026-01-01T12:00:00.020Z', '2026-01-01T12:00:01Z')),
    ).toBeUndefined();
    expect(
      earlierOnset(opened, signalWith('2026-01-01T12:00:00.500Z', '2026-01-01T12:00:01Z')),
    ).toBeUndefined();
  });

  it('takes the time a signal occurred as its onset when it names none', () => {
    const opened = { onset_at: '2026-01-01T12:00:01.000Z', ttd_ms: 0 };

    expect(earlierOnset(opened, signalWith(undefined, '2026-01-01T12:00:00.900Z'))).toEqual({
      onset_at: '2026-01-01T12:00:00.900Z',
      ttd_ms: 100,
    });
  });

  it('changes nothing for an incident without a known onset', () => {
    const signal = signalWith('2026-01-01T12:00:00.020Z', '2026-01-01T12:00:00.061Z');

    expect(earlierOnset({ onset_at: null, ttd_ms: null }, signal)).toBeUndefined();
  });
});
