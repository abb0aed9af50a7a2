import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { renderPage, stubFetch } from '../../test/render.js';
import { EvaluationPanel } from './evaluation-panel.js';
import { EvaluationSchema } from './evaluation-schema.js';

const run = (
  id: string,
  repeat: number,
  fields: Partial<{
    class: string;
    expected: string;
    outcome: string;
    pass: boolean;
    ttd_ms: number | null;
    ttr_ms: number | null;
    failures: string[];
  }> = {},
) => ({
  id,
  class: 'dropped-field',
  expected: 'healed',
  outcome: 'healed',
  pass: true,
  repeat,
  ttd_ms: 100,
  ttr_ms: 400,
  diagnosis_correct: true,
  patch_minimal: true,
  failures: [],
  ...fields,
});

/** A recorded run of three scenarios, three repeats each, the second failing once. */
const evaluationJson = () => ({
  id: 'ev-1',
  started_at: '2026-12-03T19:40:00.000Z',
  finished_at: '2026-12-03T19:41:30.000Z',
  stores: 'redis+postgres+dynamodb-local',
  notes: 'a field this view does not know',
  summary: {
    total: 9,
    passed: 8,
    heal_success_rate: 0.8333,
    false_heals: 0,
    false_alarms: 0,
    pass_all_repeats: false,
    ttr_p50_ms: 410,
    ttr_p95_ms: 980,
    repeat: 3,
  },
  scenarios: [
    run('return-policy-sync', 1, { ttd_ms: 90, ttr_ms: 380 }),
    run('return-policy-sync', 2, { ttd_ms: 110, ttr_ms: 420 }),
    run('return-policy-sync', 3, { ttd_ms: 100, ttr_ms: 400 }),
    run('price-unit-swap', 1, { class: 'unit-change' }),
    run('price-unit-swap', 2, {
      class: 'unit-change',
      outcome: 'escalated',
      pass: false,
      ttr_ms: null,
      failures: ['expected healed, got escalated'],
    }),
    run('price-unit-swap', 3, { class: 'unit-change' }),
    ...[1, 2, 3].map((repeat) =>
      run('control-benign-release', repeat, {
        class: 'control',
        expected: 'none',
        outcome: 'none',
        ttd_ms: null,
        ttr_ms: null,
      }),
    ),
  ],
});

/** The value of a summary tile, found by its label. */
const tileValue = (label: string) =>
  screen.getByText(label, { selector: 'dt' }).nextElementSibling?.textContent;

describe('Evaluation panel', () => {
  it('parses a recorded run, extra fields and all', () => {
    expect(EvaluationSchema.safeParse(evaluationJson()).success).toBe(true);
  });

  it('shows a recorded run as one row per scenario with passes, medians and outcomes', async () => {
    stubFetch({ 'GET /api/evaluations/latest': { json: evaluationJson() } });
    renderPage(<EvaluationPanel />);

    const table = await screen.findByRole('table', { name: /Scenarios: passes over 3 repeats/ });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((row) => within(row).getByRole('rowheader').textContent)).toEqual([
      'return-policy-syncdropped-field',
      'price-unit-swapunit-change',
      'control-benign-releasecontrol',
    ]);
    const [healed, flaky, control] = rows.map((row) =>
      within(row)
        .getAllByRole('cell')
        .map((cell) => cell.textContent),
    );
    expect(healed?.slice(0, 5)).toEqual(['3/3', 'healed', 'healed', '100.0 ms', '400.0 ms']);
    expect(flaky?.slice(0, 3)).toEqual(['2/3', 'healed ×2, escalated ×1', 'healed']);
    expect(control?.slice(0, 5)).toEqual(['3/3', 'none', 'none', '—', '—']);

    expect(tileValue('Passed')).toBe('8/9');
    expect(tileValue('Heal success rate')).toBe('83%');
    expect(tileValue('False heals')).toBe('0');
    expect(tileValue('TTR p50 / p95')).toBe('410.0 ms / 980.0 ms');
    expect(tileValue('Repeats')).toBe('3');
    expect(tileValue('Stores')).toBe('redis+postgres+dynamodb-local');
    expect(screen.getByText('Some repeats failed')).toBeTruthy();
    expect(
      screen.getByRole('figure', { name: 'Median time to detect and repair per scenario' }),
    ).toBeTruthy();
  });

  it('gives the reason a failed repeat failed', async () => {
    stubFetch({ 'GET /api/evaluations/latest': { json: evaluationJson() } });
    renderPage(<EvaluationPanel />);

    const row = await screen.findByRole('row', { name: /price-unit-swap/ });
    expect(within(row).getByText('Why a repeat failed')).toBeTruthy();
    expect(within(row).getByRole('listitem').textContent).toBe(
      'expected healed, got escalated (repeat 2)',
    );
    const passing = screen.getByRole('row', { name: /return-policy-sync/ });
    expect(within(passing).queryByText(/failed/)).toBeNull();
  });

  it('says how to record a run when none is recorded', async () => {
    stubFetch({
      'GET /api/evaluations/latest': {
        status: 404,
        json: { error: 'not_found', message: 'no harness run recorded yet' },
      },
    });
    renderPage(<EvaluationPanel />);

    expect(await screen.findByText('No evaluation recorded yet')).toBeTruthy();
    expect(screen.getByText('npm run scenarios')).toBeTruthy();
    expect(screen.queryByRole('table')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows an error with a retry when the run cannot be read', async () => {
    stubFetch({ 'GET /api/evaluations/latest': { status: 503, json: {} } });
    renderPage(<EvaluationPanel />);

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain(
      'Could not load the latest evaluation: The server failed (503).',
    );
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeTruthy();
  });

  it('shows an error when the run has an unexpected shape', async () => {
    const broken = { ...evaluationJson(), summary: { total: 'nine' } };
    stubFetch({ 'GET /api/evaluations/latest': { json: broken } });
    renderPage(<EvaluationPanel />);

    expect((await screen.findByRole('alert')).textContent).toContain(
      'The server answered in an unexpected shape.',
    );
  });
});
