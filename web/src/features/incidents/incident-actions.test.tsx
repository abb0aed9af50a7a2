import { screen, waitFor } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { renderPage, stubFetch } from '../../test/render.js';
import { awaitingIncidentJson, healedIncidentJson } from './fixtures/incident-fixtures.js';
import { IncidentActions } from './incident-actions.js';
import { IncidentSummarySchema } from './incident-schema.js';

const awaiting = () => IncidentSummarySchema.parse(awaitingIncidentJson());
const healed = () => IncidentSummarySchema.parse(healedIncidentJson());

async function enterToken(token: string) {
  const user = userEvent.setup();
  const dialog = await screen.findByRole('dialog', { name: 'Sign in for admin actions' });
  await user.type(screen.getByLabelText('Admin token'), token);
  await user.click(screen.getByRole('button', { name: 'Use token' }));
  await waitFor(() => expect(dialog.isConnected).toBe(false));
}

describe('Incident actions', () => {
  it('offers Approve and Reject only while the patch awaits approval', () => {
    stubFetch({});
    const { unmount } = renderPage(<IncidentActions incident={awaiting()} />);
    expect(screen.getByRole('button', { name: 'Approve' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Reject' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Rollback' })).toBeNull();
    unmount();

    renderPage(<IncidentActions incident={healed()} />);
    expect(screen.queryByRole('button', { name: 'Approve' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Reject' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Rollback' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Download patch' }).getAttribute('href')).toBe(
      `/api/incidents/${healed().id}/patch`,
    );
  });

  it('asks for the token once and sends it as a bearer token', async () => {
    const incident = awaiting();
    const { requests } = stubFetch({
      [`POST /api/incidents/${incident.id}/approve`]: {
        status: 202,
        json: { incident: incident.id, approval: { decision: 'approved' } },
      },
      [`POST /api/incidents/${incident.id}/reject`]: { json: { incident: incident.id } },
    });
    const user = userEvent.setup();
    renderPage(<IncidentActions incident={incident} />);

    await user.click(screen.getByRole('button', { name: 'Approve' }));
    await enterToken('s3cret-token');
    expect(await screen.findByText('Approved: the patch goes to verification.')).toBeTruthy();

    await user.click(screen.getByRole('button', { name: 'Reject' }));
    expect(await screen.findByText('Rejected: the patch will not ship.')).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();

    const posts = requests.filter((request) => request.method === 'POST');
    expect(posts.map((request) => request.url)).toEqual([
      `/api/incidents/${incident.id}/approve`,
      `/api/incidents/${incident.id}/reject`,
    ]);
    for (const post of posts) {
      expect(post.headers.get('authorization')).toBe('Bearer s3cret-token');
      expect(post.body).toEqual({ by: 'dashboard' });
    }
    expect(sessionStorage.getItem('selfheal.adminToken')).toBe('s3cret-token');
  });

  it('says the token was refused on a 401 and asks again next time', async () => {
    const incident = awaiting();
    stubFetch({
      [`POST /api/incidents/${incident.id}/approve`]: {
        status: 401,
        json: { error: 'unauthorized', message: 'admin token is wrong or expired' },
      },
    });
    const user = userEvent.setup();
    renderPage(<IncidentActions incident={incident} />);

    await user.click(screen.getByRole('button', { name: 'Approve' }));
    await enterToken('wrong');
    expect((await screen.findByRole('alert')).textContent).toBe(
      'The admin token was refused: it is wrong or expired. Enter it again to retry.',
    );
    expect(sessionStorage.getItem('selfheal.adminToken')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Approve' }));
    expect(await screen.findByRole('dialog', { name: 'Sign in for admin actions' })).toBeTruthy();
  });

  it('shows the server’s reason on a 409', async () => {
    const incident = awaiting();
    sessionStorage.setItem('selfheal.adminToken', 'good');
    stubFetch({
      [`POST /api/incidents/${incident.id}/approve`]: {
        status: 409,
        json: { error: 'conflict', message: `incident ${incident.id} is healed` },
      },
    });
    const user = userEvent.setup();
    renderPage(<IncidentActions incident={incident} />);

    await user.click(screen.getByRole('button', { name: 'Approve' }));
    expect((await screen.findByRole('alert')).textContent).toContain(
      `Not possible right now: incident ${incident.id} is healed.`,
    );
  });

  it('does nothing when the token dialog is cancelled', async () => {
    const incident = healed();
    const { requests } = stubFetch({});
    const user = userEvent.setup();
    renderPage(<IncidentActions incident={incident} />);

    await user.click(screen.getByRole('button', { name: 'Rollback' }));
    await user.click(await screen.findByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(requests).toHaveLength(0);
  });
});
