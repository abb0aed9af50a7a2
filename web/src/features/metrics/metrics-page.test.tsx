import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { renderPage, stubFetch } from '../../test/render.js';
import { MetricsPage } from './metrics-page.js';

const noIncidents = {
  incidents: [],
  summary: {
    incidents: 0,
    healed: 0,
    closed: 0,
    heal_success_rate: null,
    ttd_p50_ms: null,
    ttd_p95_ms: null,
    ttr_p50_ms: null,
    ttr_p95_ms: null,
  },
  by_fault_class: {},
  by_status: {},
  streams: {},
};

describe('Metrics page', () => {
  it('shows the scenario evaluation even with no incidents recorded', async () => {
    stubFetch({ 'GET /api/metrics': { json: noIncidents } });
    renderPage(<MetricsPage />);

    expect(await screen.findByText('No incidents recorded yet')).toBeTruthy();
    expect(screen.getByRole('region', { name: 'Scenario evaluation' })).toBeTruthy();
    expect(await screen.findByText('No evaluation recorded yet')).toBeTruthy();
  });

  it('keeps the scenario evaluation when the metrics cannot be read', async () => {
    stubFetch({ 'GET /api/metrics': { status: 500, json: {} } });
    renderPage(<MetricsPage />);

    expect(
      await screen.findByText(/Could not load metrics: The server failed \(500\)/),
    ).toBeTruthy();
    expect(await screen.findByText('No evaluation recorded yet')).toBeTruthy();
  });
});
