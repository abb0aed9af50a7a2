import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { renderPage, stubFetch } from '../../test/render.js';
import { awaitingIncidentJson, healedIncidentJson } from './fixtures/incident-fixtures.js';
import { IncidentPage } from './incident-page.js';
import { IncidentSchema } from './incident-schema.js';

const auditEntry = (seq: number, action: string, incidentId: string) => ({
  seq,
  at: '2026-12-03T19:47:44.083Z',
  actor: 'heal',
  action,
  incident_id: incidentId,
  detail: { release: 'R2-a66061bc' },
  prev_hash: String(seq - 1)
    .repeat(64)
    .slice(0, 64),
  hash: String(seq).repeat(64).slice(0, 64),
});

describe('Incident page', () => {
  it('parses the real Incident JSON fixture', () => {
    expect(IncidentSchema.safeParse(healedIncidentJson()).success).toBe(true);
    expect(IncidentSchema.safeParse(awaitingIncidentJson()).success).toBe(true);
  });

  it('shows evidence, diagnosis, patch, guard, verification, backfill and audit', async () => {
    const incident = healedIncidentJson();
    stubFetch({
      [`GET /api/incidents/${incident.id}`]: { json: incident },
      'GET /api/audit': {
        json: {
          entries: [
            auditEntry(2, 'heal.healed', incident.id),
            auditEntry(1, 'patch.proposed', incident.id),
          ],
        },
      },
    });
    renderPage(<IncidentPage id={incident.id} />);

    expect(await screen.findByRole('heading', { name: incident.id })).toBeTruthy();
    expect(screen.getByRole('status', { name: 'Status: healed' })).toBeTruthy();
    expect(screen.getByText('Healed in 1.37 s')).toBeTruthy();

    const signals = screen.getByRole('region', { name: 'Signals' });
    expect(
      within(signals).getAllByText('/shop/returns/eligibility', { exact: false }).length,
    ).toBeGreaterThan(0);
    const mapper = screen.getByRole('region', { name: 'Mapper' });
    expect(mapper.textContent).toContain('functions/shop/catalog-sync.ts:14–26');
    expect(screen.getByRole('figure', { name: 'Release diff' })).toBeTruthy();

    const confidence = screen.getByRole('meter', { name: 'Confidence' });
    expect(confidence.parentElement?.textContent).toBe('92%');

    const diff = screen.getByRole('figure', { name: 'Patch diff' });
    expect(
      within(diff).getByText('return_policy: item.return_policy,', { exact: false }),
    ).toBeTruthy();

    const guard = screen.getByRole('region', { name: 'Guard' });
    expect(guard.textContent).toContain('Decision: approved');

    const checks = screen.getByRole('table', { name: 'Verification checks' });
    const differential = within(checks).getByRole('row', { name: /differential/ });
    expect(differential.textContent).toContain('500');
    expect(differential.textContent).toContain('27.8 ms');

    const backfill = screen.getByRole('region', { name: 'Backfill' });
    expect(backfill.textContent).toContain('100');

    const audit = screen.getByRole('region', { name: 'Audit' });
    expect(await within(audit).findByText('heal.healed')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Rollback' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Approve' })).toBeNull();
  });

  it('shows the guard’s reasons and Approve for a held patch', async () => {
    const incident = awaitingIncidentJson();
    stubFetch({
      [`GET /api/incidents/${incident.id}`]: { json: incident },
      'GET /api/audit': { json: { entries: [] } },
    });
    renderPage(<IncidentPage id={incident.id} />);

    expect(await screen.findByRole('button', { name: 'Approve' })).toBeTruthy();
    expect(screen.queryByText(/Healed in/)).toBeNull();
    const reasons = screen.getByRole('list', { name: 'Guard reasons' });
    expect(reasons.textContent).toContain('below min_confidence_for_auto');
    expect(screen.getByText('Not verified yet.')).toBeTruthy();
    expect(await screen.findByText('No audit entries for this incident.')).toBeTruthy();
  });

  it('says the incident does not exist on a 404', async () => {
    stubFetch({});
    renderPage(<IncidentPage id="inc_missing" />);
    expect(await screen.findByText('No incident inc_missing')).toBeTruthy();
  });

  it('keeps the page when one snapshot has an unexpected shape', async () => {
    const incident = { ...healedIncidentJson(), verification: { checks: 'nope' } };
    stubFetch({
      [`GET /api/incidents/${incident.id}`]: { json: incident },
      'GET /api/audit': { json: { entries: [] } },
    });
    renderPage(<IncidentPage id={incident.id} />);
    const verification = await screen.findByRole('region', { name: 'Verification' });
    expect(within(verification).getByRole('alert').textContent).toContain('unexpected shape');
    expect(screen.getByRole('figure', { name: 'Patch diff' })).toBeTruthy();
  });
});
