import { createHash } from 'node:crypto';
import { type CatalogItem, createEvent } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import type { Ports } from '../runtime/ports.js';

export interface PushToAccept {
  /** Which webhook path delivered it (`catalog`, `shopify`); part of the dedupe key. */
  readonly channel: string;
  /** The delivery id the sender keeps across redeliveries. */
  readonly webhookId: string;
  readonly catalog_version: string;
  readonly pushed_at: string;
  readonly items: readonly CatalogItem[];
}

export interface AcceptedPush {
  readonly push_id: string;
  readonly items: number;
  /** True when this delivery id was accepted before: nothing was published again. */
  readonly duplicate: boolean;
}

/**
 * Makes a verified push durable and hands it to the pipeline: published on `catalog.pushes`
 * (a Redis stream in production) under an id derived from the delivery id, then remembered. A
 * redelivery answers the same `push_id` and publishes nothing; two racing deliveries publish the
 * same event id, which every stage's idempotency drops.
 */
export async function acceptPush(
  ports: Pick<Ports, 'bus' | 'kv' | 'tables' | 'config'>,
  push: PushToAccept,
): Promise<AcceptedPush> {
  const marker = { pk: `webhook#${push.channel}#${push.webhookId}` };
  const seen = await ports.kv.get(ports.tables.kv, marker);
  if (seen && typeof seen.push_id === 'string') {
    return { push_id: seen.push_id, items: Number(seen.items ?? 0), duplicate: true };
  }
  const digest = createHash('sha256')
    .update(`${push.channel}\u0000${push.webhookId}`)
    .digest('hex');
  const pushId = `push_${digest.slice(0, 24)}`;
  const event = createEvent(
    'catalog.push',
    {
      push_id: pushId,
      catalog_version: push.catalog_version,
      pushed_at: push.pushed_at,
      webhook_id: push.webhookId,
      items: [...push.items],
    },
    { source: `webhooks/${push.channel}`, id: pushId },
  );
  await ports.bus.publish(streams.catalogPushes, JSON.stringify(event), {
    maxLen: ports.config.SELFHEAL_STREAM_MAXLEN,
  });
  await ports.kv.put(
    ports.tables.kv,
    { ...marker, push_id: pushId, items: push.items.length, accepted_at: new Date().toISOString() },
    { ifNotExists: 'pk' },
  );
  return { push_id: pushId, items: push.items.length, duplicate: false };
}
