import { render, screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { cleanFileHeaders, DiffView } from './diff-view.js';
import { healedIncidentJson } from './fixtures/incident-fixtures.js';

describe('Diff view', () => {
  it('shows the added return_policy line of the patch as text', () => {
    render(<DiffView diff={healedIncidentJson().patch.diff} />);
    const figure = screen.getByRole('figure', { name: 'Patch diff' });
    const added = within(figure).getByText('return_policy: item.return_policy,', { exact: false });
    expect(added.closest('tr')?.querySelector('.d2h-ins')).toBeTruthy();
    expect(figure.textContent).toContain('functions/shop/catalog-sync.ts');
  });

  it('switches between unified and side-by-side and keeps the added line', async () => {
    const user = userEvent.setup();
    render(<DiffView diff={healedIncidentJson().patch.diff} />);
    const figure = screen.getByRole('figure', { name: 'Patch diff' });
    expect(figure.querySelector('.d2h-file-side-diff')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Side by side' }));

    expect(screen.getByRole('button', { name: 'Side by side' }).getAttribute('aria-pressed')).toBe(
      'true',
    );
    expect(figure.querySelector('.d2h-file-side-diff')).toBeTruthy();
    expect(
      within(figure).getByText('return_policy: item.return_policy,', { exact: false }),
    ).toBeTruthy();
  });

  it('drops release labels from the file headers', () => {
    expect(cleanFileHeaders('--- a/x.ts\tR2\n+++ b/x.ts\tcandidate\n@@ -1 +1 @@\n')).toBe(
      '--- a/x.ts\n+++ b/x.ts\n@@ -1 +1 @@\n',
    );
  });
});
