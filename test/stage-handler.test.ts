import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent, deriveEventId, parseEvent } from '../events/index.js';
import { buildPorts } from '../functions/runtime/build-ports.js';
import { parseConfig } from '../functions/runtime/config.js';
import { createLogger } from '../functions/runtime/logger.js';
import type { Ports } from '../functions/runtime/ports.js';
import {
  applyStage,
  createStageHandler,
  type StageCore,
} from '../functions/runtime/stage-handler.js';
import type { StreamRecord } from '../functions/runtime/stream-batch.js';

const signalData = {
  kind: 'SchemaMismatch' as const,
  target: 'demo-shop',
  field: 'return_policy',
  skus: ['SKU-1001'],
  sku_count: 1,
  samples: [{ sku: 'SKU-1001', value: null }],
};

describe('Stage handler', () => {
  let ports: Ports;
  let calls: string[];
  const core: StageCore<'signal'> = async (event, _ports, context) => {
    calls.push(event.id);
    if (event.data.field === 'explode') throw new Error('core failed on purpose');
    return {
      status: 'ok',
      outputs: [{ stream: 'diagnoses', event: { ...event, id: context.idFor(0) } }],
      detail: { field: event.data.field },
    };
  };
  const definition = { stage: 'rca-test', accepts: ['signal'] as const, core };

  beforeAll(async () => {
    ports = await buildPorts(parseConfig({}), createLogger('silent'));
  });
  afterAll(async () => {
    await ports.close();
  });

  const record = (id: string, body: string): StreamRecord => ({
    id,
    stream: 'signals',
    body,
    deliveries: 1,
  });

  it('applies valid events, reports poison with the reason and failures per record', async () => {
    calls = [];
    const good = createEvent('signal', signalData, { source: 'test' });
    const bad = createEvent('signal', { ...signalData, field: 'explode' }, { source: 'test' });
    const wrongVersion = JSON.stringify({ ...good, id: 'v9', version: 9 });
    const handler = createStageHandler(definition, async () => ports);

    const response = await handler(
      {
        stage: 'rca-test',
        records: [
          record('1-0', JSON.stringify(good)),
          record('2-0', '{not json'),
          record('3-0', wrongVersion),
          record('4-0', JSON.stringify(bad)),
        ],
      },
      {} as never,
    );

    expect(response.poisonItems?.map((p) => p.itemIdentifier)).toEqual(['2-0', '3-0']);
    expect(response.poisonItems?.[1]?.reason).toBe('unknown version 9 of event type "signal"');
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['4-0']);
    expect(calls).toEqual([good.id, bad.id]);
  });

  it('publishes outputs under ids derived from the input and records a measured trace step', async () => {
    calls = [];
    const event = createEvent('signal', signalData, { source: 'test', incidentId: undefined });
    const before = await ports.bus.length('diagnoses');

    await applyStage(definition, event, ports);

    const published = await ports.bus.range('diagnoses', '0-0', 10_000);
    expect(published).toHaveLength(before + 1);
    const output = parseEvent(published.at(-1)?.body ?? '');
    expect(output.ok && output.event.id).toBe(deriveEventId('rca-test', event.id, 0));
    const traces = await ports.bus.range('traces', '0-0', 10_000);
    const step = parseEvent(traces.at(-1)?.body ?? '', ['trace.step']);
    expect(step.ok).toBe(true);
    if (!step.ok) return;
    expect(step.event.data).toMatchObject({ stage: 'rca-test', status: 'ok' });
    expect(step.event.data.duration_ms).toBeGreaterThanOrEqual(0);
    expect(Date.parse(step.event.data.ended_at)).toBeGreaterThanOrEqual(
      Date.parse(step.event.data.started_at),
    );
  });

  it('does nothing the second time the same event arrives', async () => {
    calls = [];
    const event = createEvent('signal', signalData, { source: 'test' });

    const first = await applyStage(definition, event, ports);
    const second = await applyStage(definition, event, ports);

    expect([first, second]).toEqual(['applied', 'duplicate']);
    expect(calls).toEqual([event.id]);
  });
});
