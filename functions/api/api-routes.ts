import { Hono } from 'hono';
import { z } from 'zod';
import { findScenario, SCENARIO_LIBRARY, scenarioListing } from '../../scenarios/index.js';
import { InjectionError, injectScenario } from '../../scenarios/inject.js';
import type { Ports } from '../runtime/ports.js';
import type { ShopService } from '../shop/shop-service.js';
import { requireAdmin } from './admin-auth.js';
import { createIncidentRoutes } from './incident-routes.js';
import { computeMetrics } from './metrics.js';

const LimitSchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export interface ApiOptions {
  /** The demo shop, when this process runs it: enables releases and scenarios. */
  readonly shop?: ShopService;
  /** Where this process's own webhook endpoint answers (scenarios push through it). */
  readonly selfUrl: string;
}

/** The JSON API under `/api`: signals, the target's releases and the demo scenarios. */
export function createApiRoutes(ports: Ports, options: ApiOptions): Hono {
  const app = new Hono();
  const admin = requireAdmin(ports.config.SELFHEAL_ADMIN_TOKEN);

  app.get('/signals', async (c) => {
    const query = LimitSchema.safeParse(c.req.query());
    if (!query.success) {
      return c.json(
        { error: 'bad_request', field: 'limit', message: 'limit: an integer 1–500' },
        400,
      );
    }
    return c.json({ signals: await ports.store.listSignals({ limit: query.data.limit }) });
  });

  app.route('/incidents', createIncidentRoutes(ports));

  app.get('/metrics', async (c) => c.json(await computeMetrics(ports)));

  app.get('/evaluations/latest', async (c) => {
    const evaluation = await ports.store.latestEvaluation();
    if (!evaluation) {
      return c.json({ error: 'not_found', message: 'no harness run recorded yet' }, 404);
    }
    return c.json(evaluation);
  });

  app.get('/audit/verify', async (c) => c.json(await ports.store.verifyAuditChain()));

  app.get('/audit', async (c) => {
    const query = LimitSchema.extend({ incident_id: z.string().min(1).optional() }).safeParse(
      c.req.query(),
    );
    if (!query.success) {
      return c.json(
        { error: 'bad_request', field: 'limit', message: 'limit: an integer 1–500' },
        400,
      );
    }
    return c.json({
      entries: await ports.store.listAudit({
        limit: query.data.limit,
        ...(query.data.incident_id ? { incident_id: query.data.incident_id } : {}),
      }),
    });
  });

  const { shop } = options;
  if (!shop) return app;

  app.get('/target/releases', (c) => {
    const active = shop.deployer.active()?.release.id;
    return c.json({
      target: shop.manifest.name,
      active,
      releases: shop.deployer.list().map((release) => ({
        id: release.id,
        hash: release.hash,
        parent_id: release.parent_id,
        path: release.path,
        diff: release.diff,
        active: release.id === active,
      })),
    });
  });

  app.get('/scenarios', (c) => c.json({ scenarios: SCENARIO_LIBRARY.map(scenarioListing) }));

  app.post('/scenarios/reset', admin, async (c) => {
    const started = performance.now();
    await shop.reset();
    return c.json({
      reset: true,
      active_release: shop.deployer.active()?.release.id,
      duration_ms: performance.now() - started,
    });
  });

  app.post('/scenarios/:id/inject', admin, async (c) => {
    const scenario = findScenario(c.req.param('id'));
    if (!scenario) {
      return c.json(
        { error: 'not_found', field: 'id', message: `no scenario ${c.req.param('id')}` },
        404,
      );
    }
    // The fault goes live (a release, an outage) and the workload arrives through the real
    // signed webhook; what follows is only observable through signals and incidents.
    try {
      const injection = await injectScenario(scenario, {
        shop,
        baseUrl: options.selfUrl,
        webhookSecret: ports.config.SELFHEAL_WEBHOOK_SECRET,
        at: new Date().toISOString(),
      });
      return c.json({ ...injection, push_id: injection.push_ids[0] }, 202);
    } catch (error) {
      if (!(error instanceof InjectionError)) throw error;
      return c.json({ error: 'inject_failed', message: error.message }, 502);
    }
  });

  return app;
}
