import { screen, waitFor } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { renderPage, stubFetch } from '../../test/render.js';
import { ScenariosPage } from './scenarios-page.js';

const scenario = {
  id: 'return-policy-sync',
  name: 'Return policy dropped by a sync refactor',
  description: 'Release R2 of the catalog sync stops mapping return_policy.',
  fault_class: 'dropped-field',
};

describe('Scenarios page', () => {
  it('injects a scenario with the admin token', async () => {
    const { requests } = stubFetch({
      'GET /api/scenarios': { json: { scenarios: [scenario] } },
      'POST /api/scenarios/return-policy-sync/inject': {
        status: 202,
        json: { scenario: scenario.id, release: 'R2', push_id: 'push_1', items: 100 },
      },
    });
    const user = userEvent.setup();
    renderPage(<ScenariosPage />);

    expect(await screen.findByText(scenario.description)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: /Inject/ }));
    await user.type(await screen.findByLabelText('Admin token'), 'selfheal-local-admin');
    await user.click(screen.getByRole('button', { name: 'Use token' }));

    expect((await screen.findByRole('status')).textContent).toContain(
      'release R2 is live, a push of 100 items arrived',
    );
    const inject = requests.find((request) => request.method === 'POST');
    expect(inject?.url).toBe('/api/scenarios/return-policy-sync/inject');
    expect(inject?.headers.get('authorization')).toBe('Bearer selfheal-local-admin');
  });

  it('resets the demo with the token already given', async () => {
    sessionStorage.setItem('selfheal.adminToken', 'tok');
    const { requests } = stubFetch({
      'GET /api/scenarios': { json: { scenarios: [scenario] } },
      'POST /api/scenarios/reset': {
        json: { reset: true, active_release: 'R1', duration_ms: 12.5 },
      },
    });
    const user = userEvent.setup();
    renderPage(<ScenariosPage />);

    await user.click(screen.getByRole('button', { name: 'Reset demo' }));
    await waitFor(() =>
      expect(screen.getByRole('status').textContent).toContain('release R1 is live again'),
    );
    expect(
      requests.find((request) => request.method === 'POST')?.headers.get('authorization'),
    ).toBe('Bearer tok');
  });

  it('shows the expected outcome and tells how many pushes an inject sent', async () => {
    sessionStorage.setItem('selfheal.adminToken', 'tok');
    stubFetch({
      'GET /api/scenarios': {
        json: {
          scenarios: [{ ...scenario, expected: 'healed', injects: ['release R2', '2 push(es)'] }],
        },
      },
      'POST /api/scenarios/return-policy-sync/inject': {
        status: 202,
        json: {
          scenario: scenario.id,
          release: 'R2',
          push_ids: ['push_1', 'push_2'],
          items: 150,
          calls: [],
          started_at: '2026-12-03T19:47:44.083Z',
        },
      },
    });
    const user = userEvent.setup();
    renderPage(<ScenariosPage />);

    const card = await screen.findByRole('region', { name: scenario.name });
    expect(card.textContent).toContain('Expected outcome: healed');
    await user.click(screen.getByRole('button', { name: /Inject/ }));
    expect((await screen.findByRole('status')).textContent).toContain(
      'release R2 is live, 2 pushes of 150 items in all arrived.',
    );
  });

  it('says so when this runtime has no scenarios', async () => {
    stubFetch({});
    renderPage(<ScenariosPage />);
    expect(await screen.findByText('No scenarios')).toBeTruthy();
  });

  it('shows an error when the scenarios cannot be read', async () => {
    stubFetch({ 'GET /api/scenarios': { status: 503, json: {} } });
    renderPage(<ScenariosPage />);
    expect((await screen.findByRole('alert')).textContent).toContain(
      'Could not load scenarios: The server failed (503).',
    );
  });
});
