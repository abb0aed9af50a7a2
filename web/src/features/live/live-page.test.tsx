import { act, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import traceStep from '../../../../events/fixtures/trace.step.json' with { type: 'json' };
import { createFakeEventSource } from '../../test/fake-event-source.js';
import { renderPage, stubFetch } from '../../test/render.js';
import {
  awaitingIncidentJson,
  healedIncidentJson,
  summaryOf,
} from '../incidents/fixtures/incident-fixtures.js';
import { LivePage } from './live-page.js';

describe('Live page', () => {
  it('renders each incident as a card with its timeline, status and Healed in', async () => {
    const incident = healedIncidentJson();
    stubFetch({
      'GET /api/incidents': { json: { incidents: [summaryOf(incident)] } },
      [`GET /api/incidents/${incident.id}`]: { json: incident },
    });
    renderPage(<LivePage />);

    const card = await screen.findByRole('article', {
      name: `Incident ${incident.id} dropped-field`,
    });
    expect(within(card).getByRole('status', { name: 'Status: healed' }).textContent).toContain(
      '✅',
    );
    expect(within(card).getByText('Healed in 1.37 s')).toBeTruthy();

    const timeline = await within(card).findByRole('list', { name: 'Timeline' });
    const steps = within(timeline).getAllByRole('listitem');
    expect(steps.map((step) => step.querySelector('.font-mono')?.textContent)).toEqual([
      'rca',
      'patch',
      'guard',
      'verify',
      'rca',
      'heal',
    ]);
    expect(steps[0]?.textContent).toContain('ok');
    expect(steps[0]?.textContent).toContain('96.4 ms');
    expect(steps[3]?.textContent).toContain('509.3 ms');
  });

  it('moves an incident along when a trace step of it arrives', async () => {
    const healed = healedIncidentJson();
    const awaiting = awaitingIncidentJson();
    let current: unknown = awaiting;
    stubFetch({
      'GET /api/incidents': () => ({
        json: { incidents: [summaryOf(current as typeof awaiting)] },
      }),
      [`GET /api/incidents/${healed.id}`]: () => ({ json: current }),
    });
    const fake = createFakeEventSource();
    renderPage(<LivePage />, { EventSource: fake.EventSource });
    act(() => fake.latest().open());

    const card = await screen.findByRole('article', { name: new RegExp(healed.id) });
    expect(
      within(card).getByRole('status', { name: 'Status: awaiting approval' }).textContent,
    ).toContain('❌');
    expect(within(card).queryByText(/Healed in/)).toBeNull();

    current = healed;
    act(() =>
      fake.latest().emit(
        'trace.step',
        JSON.stringify({
          ...traceStep,
          incident_id: healed.id,
          data: { ...traceStep.data, stage: 'heal' },
        }),
        '7-0',
      ),
    );

    expect(await within(card).findByText('Healed in 1.37 s')).toBeTruthy();
    expect(within(card).getByRole('status', { name: 'Status: healed' })).toBeTruthy();
    expect(screen.getByRole('listitem', { name: 'heal: 1 incident' })).toBeTruthy();
  });

  it('shows the stream state and warns about malformed frames', async () => {
    stubFetch({ 'GET /api/incidents': { json: { incidents: [] } } });
    const fake = createFakeEventSource();
    renderPage(<LivePage />, { EventSource: fake.EventSource });
    expect(screen.getByRole('status', { name: 'Stream connecting' })).toBeTruthy();

    act(() => fake.latest().open());
    expect(screen.getByRole('status', { name: 'Stream connected' })).toBeTruthy();

    act(() => {
      fake.latest().emit('trace.step', 'garbage', '1-0');
      fake.latest().emit('trace.step', '{"id":"x"}', '2-0');
    });
    expect(screen.getByRole('alert', { name: 'Malformed frames' }).textContent).toContain(
      '2 malformed frames ignored',
    );

    act(() => fake.latest().fail(2));
    expect(screen.getByRole('status', { name: 'Stream disconnected' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Retry now' })).toBeTruthy();
  });

  it('shows a designed empty state when there are no incidents', async () => {
    stubFetch({ 'GET /api/incidents': { json: { incidents: [] } } });
    renderPage(<LivePage />);
    expect(await screen.findByText('No incidents yet')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Inject a fault' }).getAttribute('href')).toBe(
      '#/scenarios',
    );
    // Without an EventSource the page still works: disconnected, polling.
    expect(screen.getByRole('status', { name: 'Stream disconnected' })).toBeTruthy();
  });

  it('shows the error and a retry when incidents cannot be read', async () => {
    stubFetch({ 'GET /api/incidents': { status: 500, json: { error: 'internal' } } });
    renderPage(<LivePage />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Could not load incidents: The server failed (500).');
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeTruthy();
  });

  it('shows loading while incidents are on their way', () => {
    stubFetch({});
    renderPage(<LivePage />);
    expect(screen.getByRole('status', { name: 'Loading incidents…' })).toBeTruthy();
  });
});
