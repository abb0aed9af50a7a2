import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { createEvent } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import { loadProposal } from '../guard/proposals.js';
import { rollbackHealedIncident } from '../heal/rollback.js';
import type { IncidentStatus } from '../ports/trace-store.js';
import type { Ports } from '../runtime/ports.js';
import { requireAdmin } from './admin-auth.js';
import { gitPatchOf } from './git-patch.js';

const STATUSES = [
  'detected',
  'diagnosed',
  'patched',
  'awaiting_approval',
  'rejected',
  'verified',
  'verification_failed',
  'healed',
  'rolled_back',
  'failed',
  'escalated',
] as const satisfies readonly IncidentStatus[];

const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  status: z.enum(STATUSES).optional(),
});

/** Who decides and why, for approvals and rejections by a person. */
const DecisionBodySchema = z
  .object({
    by: z.string().trim().min(1).max(100).default('admin'),
    note: z.string().max(1_000).optional(),
  })
  .strict();

const badRequest = (c: Context, field: string, message: string) =>
  c.json({ error: 'bad_request', field, message: `${field}: ${message}` }, 400);

/** The body of a decision: absent or JSON matching {@link DecisionBodySchema}. */
async function decisionBody(
  c: Context,
): Promise<{ ok: true; value: z.infer<typeof DecisionBodySchema> } | { ok: false; res: Response }> {
  const raw = await c.req.text();
  let json: unknown = {};
  if (raw.trim()) {
    try {
      json = JSON.parse(raw);
    } catch {
      return { ok: false, res: badRequest(c, 'body', 'malformed JSON') };
    }
  }
  const parsed = DecisionBodySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || (issue?.code === 'unrecognized_keys' ? 'body' : 'body');
    return { ok: false, res: badRequest(c, field, issue?.message ?? 'invalid') };
  }
  return { ok: true, value: parsed.data };
}

/**
 * Incidents under `/api/incidents`: reads (open locally), a person's approval or rejection of a
 * held patch, a manual rollback of a healed one (admin token), and the fix as a git patch.
 */
export function createIncidentRoutes(ports: Ports): Hono {
  const app = new Hono();
  const admin = requireAdmin(ports.config.SELFHEAL_ADMIN_TOKEN);

  app.get('/', async (c) => {
    const query = ListQuerySchema.safeParse(c.req.query());
    if (!query.success) {
      const issue = query.error.issues[0];
      const field = String(issue?.path[0] ?? 'query');
      return badRequest(
        c,
        field,
        field === 'status' ? `one of ${STATUSES.join(', ')}` : 'an integer 1–500',
      );
    }
    const incidents = await ports.store.listIncidents({
      limit: query.data.limit,
      ...(query.data.status ? { status: query.data.status } : {}),
    });
    return c.json({ incidents });
  });

  app.get('/:id', async (c) => {
    const incident = await ports.store.getIncident(c.req.param('id'));
    if (!incident) return notFound(c);
    return c.json(incident);
  });

  app.get('/:id/patch', async (c) => {
    const incident = await ports.store.getIncident(c.req.param('id'));
    if (!incident) return notFound(c);
    const patchId = (incident.patch as { id?: string } | null)?.id;
    const stored = patchId ? await loadProposal(ports, patchId) : undefined;
    if (!stored) {
      return c.json({ error: 'not_found', message: `incident ${incident.id} has no patch` }, 404);
    }
    c.header('content-type', 'text/x-patch; charset=utf-8');
    c.header('content-disposition', `attachment; filename="${incident.id}.patch"`);
    return c.body(gitPatchOf(incident, stored.proposal));
  });

  app.post('/:id/approve', admin, async (c) => {
    const body = await decisionBody(c);
    if (!body.ok) return body.res;
    const incident = await ports.store.getIncident(c.req.param('id'));
    if (!incident) return notFound(c);
    if (incident.status !== 'awaiting_approval') {
      return c.json(
        { error: 'conflict', message: `incident ${incident.id} is ${incident.status}` },
        409,
      );
    }
    const patchId = (incident.patch as { id?: string } | null)?.id;
    const stored = patchId ? await loadProposal(ports, patchId) : undefined;
    if (!stored) {
      return c.json({ error: 'conflict', message: `incident ${incident.id} has no patch` }, 409);
    }
    const at = new Date().toISOString();
    const approval = { decision: 'approved', by: body.value.by, at, note: body.value.note ?? null };
    await ports.store.updateIncident(incident.id, {
      status: 'patched',
      patch: { ...(incident.patch as object), approval },
    });
    await ports.store.appendAudit({
      actor: `admin:${body.value.by}`,
      action: 'patch.approved',
      incident_id: incident.id,
      detail: { patch_id: stored.proposal.patch_id, by: body.value.by, at },
    });
    const decision = createEvent(
      'guard.decision',
      {
        patch_id: stored.proposal.patch_id,
        decision: 'approved',
        reasons: [`approved by ${body.value.by}`],
        decided_by: `admin:${body.value.by}`,
        proposal: stored.proposal,
        fields: [...stored.fields],
      },
      { source: 'api', id: `evt_${randomUUID()}`, incidentId: incident.id },
    );
    await ports.bus.publish(streams.approved, JSON.stringify(decision), {
      maxLen: ports.config.SELFHEAL_STREAM_MAXLEN,
    });
    return c.json({ incident: incident.id, approval }, 202);
  });

  app.post('/:id/reject', admin, async (c) => {
    const body = await decisionBody(c);
    if (!body.ok) return body.res;
    const incident = await ports.store.getIncident(c.req.param('id'));
    if (!incident) return notFound(c);
    if (incident.status !== 'awaiting_approval') {
      return c.json(
        { error: 'conflict', message: `incident ${incident.id} is ${incident.status}` },
        409,
      );
    }
    const at = new Date().toISOString();
    const rejection = {
      decision: 'rejected',
      by: body.value.by,
      at,
      note: body.value.note ?? null,
    };
    await ports.store.updateIncident(incident.id, {
      status: 'rejected',
      patch: { ...(incident.patch as object), approval: rejection },
    });
    await ports.store.appendAudit({
      actor: `admin:${body.value.by}`,
      action: 'patch.rejected',
      incident_id: incident.id,
      detail: { by: body.value.by, at, note: body.value.note ?? null },
    });
    return c.json({ incident: incident.id, rejection });
  });

  app.post('/:id/rollback', admin, async (c) => {
    const body = await decisionBody(c);
    if (!body.ok) return body.res;
    if (!ports.target) {
      return c.json({ error: 'unavailable', message: 'this process runs no target' }, 503);
    }
    const result = await rollbackHealedIncident(
      ports,
      ports.target,
      c.req.param('id'),
      `admin:${body.value.by}`,
    );
    if (!result.ok) {
      const error =
        result.status === 404
          ? 'not_found'
          : result.status === 409
            ? 'conflict'
            : 'rollback_failed';
      return c.json({ error, message: result.message }, result.status);
    }
    return c.json({ incident: c.req.param('id'), rolled_back: true, ...result });
  });

  return app;
}

const notFound = (c: Context) =>
  c.json({ error: 'not_found', message: `no incident ${c.req.param('id')}` }, 404);
