import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { renderPage, stubFetch } from '../../test/render.js';
import { AuditPage } from './audit-page.js';

describe('Audit page', () => {
  it('shows the chain verification and an empty log', async () => {
    stubFetch({
      'GET /api/audit': { json: { entries: [] } },
      'GET /api/audit/verify': { json: { ok: true, entries: 0 } },
    });
    renderPage(<AuditPage />);
    expect(await screen.findByText('The audit log is empty')).toBeTruthy();
    expect((await screen.findByRole('status', { name: 'Audit chain' })).textContent).toContain(
      'Chain verified',
    );
  });

  it('raises a broken chain as an alert', async () => {
    stubFetch({
      'GET /api/audit': { json: { entries: [] } },
      'GET /api/audit/verify': {
        json: { ok: false, entries: 9, first_broken: { seq: 4, reason: 'hash_mismatch' } },
      },
    });
    renderPage(<AuditPage />);
    expect((await screen.findByRole('alert', { name: 'Audit chain' })).textContent).toContain(
      'Chain broken at entry 4 (hash mismatch)',
    );
  });
});
