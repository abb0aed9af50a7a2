import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEvent, deriveEventId, eventTypes, parseEvent } from './index.js';

const fixturesDir = join(import.meta.dirname, 'fixtures');
const fixtures = Object.fromEntries(
  readdirSync(fixturesDir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => [
      name.replace(/\.json$/, ''),
      JSON.parse(readFileSync(join(fixturesDir, name), 'utf8')),
    ]),
) as Record<string, Record<string, unknown>>;
const fixture = (type: string): Record<string, unknown> => {
  const value = fixtures[type];
  if (!value) throw new Error(`no fixture for ${type}`);
  return structuredClone(value);
};

describe('Events: schemas', () => {
  it('has a fixture for every registered event type', () => {
    expect(Object.keys(fixtures).sort()).toEqual([...eventTypes].sort());
  });

  it.each(eventTypes)('parses the %s fixture', (type) => {
    const result = parseEvent(fixture(type));
    expect(result.ok ? result.event.type : result.reason).toBe(type);
  });

  it('parses a JSON string body the same as a value', () => {
    const result = parseEvent(JSON.stringify(fixture('signal')), ['signal']);
    expect(result.ok).toBe(true);
  });

  it('names the exact path of a wrong field inside data', () => {
    const push = fixture('catalog.push') as { data: { items: Array<Record<string, unknown>> } };
    const item = push.data.items[0];
    if (!item) throw new Error('fixture has no item');
    item.sku = '';
    const result = parseEvent(push);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toEqual(['data.items[0].sku']);
    expect(result.reason).toMatchInlineSnapshot(
      `"schema: data.items[0].sku: Too small: expected string to have >=1 characters"`,
    );
  });

  it('rejects an unknown version instead of guessing', () => {
    const result = parseEvent({ ...fixture('signal'), version: 2 });
    expect(result).toMatchObject({ ok: false, reason: 'unknown version 2 of event type "signal"' });
  });

  it('rejects an unknown type', () => {
    const result = parseEvent({ ...fixture('signal'), type: 'signal.v9' });
    expect(result).toMatchObject({ ok: false, reason: 'unknown event type "signal.v9"' });
  });

  it('rejects a type the caller does not accept', () => {
    const result = parseEvent(fixture('signal'), ['diagnosis']);
    expect(result).toMatchObject({ ok: false });
    expect(result.ok ? '' : result.reason).toContain('unexpected event type "signal"');
  });

  it('rejects malformed JSON with the parser message', () => {
    const result = parseEvent('{"id": ');
    expect(result.ok ? '' : result.reason).toMatch(/^malformed JSON: /);
  });

  it('reports a missing envelope field at its path', () => {
    const { occurred_at: _dropped, ...rest } = fixture('trace.step');
    const result = parseEvent(rest);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(['occurred_at']);
  });
});

describe('Events: createEvent', () => {
  it('builds a valid envelope of the latest version', () => {
    const data = (fixture('trace.step') as { data: never }).data;
    const event = createEvent('trace.step', data, { source: 'test', incidentId: 'inc-1' });
    expect(event).toMatchObject({ type: 'trace.step', version: 1, incident_id: 'inc-1' });
    expect(parseEvent(event).ok).toBe(true);
  });

  it('refuses to build an event whose data breaks its schema', () => {
    expect(() =>
      createEvent('trace.step', { stage: '' } as never, { source: 'test' }),
    ).toThrowError(/invalid trace\.step event: schema: data\.stage/);
  });

  it('derives the same id for the same input and different ids per output', () => {
    expect(deriveEventId('rca', 'e1', 0)).toBe(deriveEventId('rca', 'e1', 0));
    expect(deriveEventId('rca', 'e1', 0)).not.toBe(deriveEventId('rca', 'e1', 1));
    expect(deriveEventId('rca', 'e1', 0)).not.toBe(deriveEventId('patch', 'e1', 0));
  });
});
