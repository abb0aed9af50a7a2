import { randomUUID } from 'node:crypto';
import type { ShopService } from '../functions/shop/shop-service.js';
import { standardWebhookHeaders } from '../functions/webhooks/standard-webhooks.js';
import type { Scenario } from './types.js';

/** What injecting a scenario did, step by step. */
export interface Injection {
  readonly scenario: string;
  /** The release made live by the fault, if any. */
  readonly release?: string;
  readonly push_ids: readonly string[];
  readonly items: number;
  /** Status of each customer call, in order. */
  readonly calls: readonly number[];
  /** Wall-clock time the fault started to reach the target (the first push was sent). */
  readonly started_at: string;
}

export interface InjectOptions {
  /** The shop under test. */
  readonly shop: ShopService;
  /** Base URL of the process's HTTP front: pushes go through its signed webhook. */
  readonly baseUrl: string;
  readonly webhookSecret: string;
  /** `updated_at` of every pushed item; the same value for a run and its fault-free twin. */
  readonly at: string;
  /** Sends the workload with no fault in it (no release, no outage, documented items). */
  readonly faultFree?: boolean;
  /** Called just before the first push is sent: the moment the fault starts to reach the data. */
  readonly onFaultStart?: () => void;
}

export class InjectionError extends Error {
  override readonly name = 'InjectionError';
}

/**
 * Exposes the target to a scenario: its release goes live, its outage starts, then its pushes
 * arrive through the real signed webhook and its customers call the returns check. Only what a
 * production system would see reaches the system: a deploy, an outage, pushes, calls.
 */
export async function injectScenario(
  scenario: Scenario,
  options: InjectOptions,
): Promise<Injection> {
  const { shop, faultFree = false } = options;
  const release =
    !faultFree && scenario.release ? (await shop.activateBuiltIn(scenario.release)).id : undefined;
  if (!faultFree && scenario.dependency === 'down') shop.setAvailable(false);
  const started_at = new Date().toISOString();
  options.onFaultStart?.();
  const push_ids: string[] = [];
  let items = 0;
  for (const [index, push] of scenario.pushes().entries()) {
    const body = JSON.stringify({
      catalog_version: `${scenario.id}-${index + 1}-${Date.now()}`,
      pushed_at: new Date().toISOString(),
      items: push.items.map((item) => ({
        ...(!faultFree && push.fault ? push.fault(item) : item),
        updated_at: options.at,
      })),
    });
    const response = await fetch(new URL('/webhooks/catalog', options.baseUrl), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...standardWebhookHeaders(options.webhookSecret, { id: `msg_${randomUUID()}`, body }),
      },
      body,
    });
    const answer = (await response.json().catch(() => ({}))) as { push_id?: string };
    if (response.status !== 202 || typeof answer.push_id !== 'string') {
      throw new InjectionError(
        `${scenario.id}: push ${index + 1} answered ${response.status}: ${JSON.stringify(answer)}`,
      );
    }
    push_ids.push(answer.push_id);
    items += push.items.length;
  }
  const calls: number[] = [];
  for (const call of scenario.calls ?? []) {
    const response = await fetch(new URL('/shop/returns/eligibility', options.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(call),
    }).catch(() => undefined);
    await response?.arrayBuffer();
    calls.push(response?.status ?? 0);
  }
  return {
    scenario: scenario.id,
    ...(release ? { release } : {}),
    push_ids,
    items,
    calls,
    started_at,
  };
}
