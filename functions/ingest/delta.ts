import type { z } from 'zod';
import type { CatalogDeltaDataSchema, CatalogItem } from '../../events/catalog.js';
import { diffItem, type ItemDelta, summarizeDeltas } from './diff.js';
import { mapWithConcurrency, type SnapshotRepository, updatedAtMs } from './snapshots.js';

/**
 * Snapshot writes one push keeps in flight, each one small request. DynamoDB takes many more;
 * DynamoDB Local applies writes about one at a time, so there more in flight only lengthens its
 * queue (16 and 64 measured the same rate).
 */
export const DEFAULT_DELTA_CONCURRENCY = 32;

/** The `data` of a `catalog.delta` event. */
export type CatalogDeltaData = z.infer<typeof CatalogDeltaDataSchema>;

/** The push to diff: its id, its version and its (already validated) items. */
export interface CatalogDeltaInput {
  readonly push_id: string;
  readonly catalog_version: string;
  readonly items: readonly CatalogItem[];
}

/** Options of {@link computeCatalogDelta}. */
export interface CatalogDeltaOptions {
  /** Bookkeeping paths the diff ignores on top of `updated_at` (e.g. `synced_at`). */
  readonly ignore?: readonly string[];
  /**
   * Items in flight at once, each one conditional write that returns the snapshot it replaced
   * (default {@link DEFAULT_DELTA_CONCURRENCY}).
   */
  readonly concurrency?: number;
  /** Most SKUs and samples per field change (default 5). */
  readonly sampleLimit?: number;
}

/** What {@link computeCatalogDelta} did. */
export interface CatalogDeltaResult {
  /** The `catalog.delta` data: one entry per (field, kind[, moved_to]) across the push. */
  readonly delta: CatalogDeltaData;
  /** Snapshots written (new SKUs included). */
  readonly written: number;
  /** Items skipped because their snapshot was as new or newer: neither diffed nor written. */
  readonly stale: number;
  /** SKUs seen for the first time, in push order. */
  readonly newSkus: string[];
  /** SKUs with at least one field change, in push order: what the probes should look at. */
  readonly changedSkus: string[];
  /** Items dropped because a later entry of the same push had the same SKU. */
  readonly duplicates: number;
}

type Outcome =
  | { readonly kind: 'stale' }
  | { readonly kind: 'new' }
  | { readonly kind: 'written'; readonly delta: ItemDelta };

/**
 * Diffs every item of a push against its snapshot, stores the new snapshots and summarises the
 * changes as the `catalog.delta` data.
 *
 * Per item, with `concurrency` items in flight: one conditional write of the new snapshot that
 * returns the snapshot it replaced. If the stored snapshot is as new or newer, nothing is written
 * and the item is `stale` (an older push arriving late, a redelivery, or a newer writer that got
 * there first) and reports nothing; otherwise the item is diffed against exactly the snapshot it
 * replaced (none: a new SKU). No separate read, so there is no window between reading what to
 * diff against and writing in which another writer could slip in.
 *
 * A SKU listed twice in one push is taken once: the entry with the latest `updated_at`, the later
 * entry on a tie. `delta.items` is the number of items received.
 *
 * @example
 * ```ts
 * const { delta, newSkus } = await computeCatalogDelta(push, snapshots, { ignore: ['synced_at'] });
 * const event = createEvent('catalog.delta', delta, { source: 'ingest' });
 * ```
 */
export async function computeCatalogDelta(
  input: CatalogDeltaInput,
  snapshots: SnapshotRepository,
  options: CatalogDeltaOptions = {},
): Promise<CatalogDeltaResult> {
  const { items, duplicates } = latestPerSku(input.items);
  const diffOptions = { ignore: options.ignore ?? [] };

  const outcomes = await mapWithConcurrency(
    items,
    options.concurrency ?? DEFAULT_DELTA_CONCURRENCY,
    async (item): Promise<Outcome> => {
      const written = await snapshots.replaceSnapshot(item);
      if (written.outcome === 'stale') return { kind: 'stale' };
      const { previous } = written;
      if (!previous) return { kind: 'new' };
      return {
        kind: 'written',
        delta: { sku: item.sku, changes: diffItem(previous.item, item, diffOptions) },
      };
    },
  );

  const newSkus: string[] = [];
  const changedSkus: string[] = [];
  const perItem: ItemDelta[] = [];
  let stale = 0;
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.kind === 'stale') {
      stale += 1;
    } else if (outcome.kind === 'new') {
      const sku = items[index]?.sku;
      if (sku !== undefined) newSkus.push(sku);
    } else if (outcome.delta.changes.length > 0) {
      changedSkus.push(outcome.delta.sku);
      perItem.push(outcome.delta);
    }
  }

  return {
    delta: {
      push_id: input.push_id,
      catalog_version: input.catalog_version,
      items: input.items.length,
      changes: summarizeDeltas(perItem, {
        newSkus,
        ...(options.sampleLimit === undefined ? {} : { sampleLimit: options.sampleLimit }),
      }),
    },
    written: outcomes.length - stale,
    stale,
    newSkus,
    changedSkus,
    duplicates,
  };
}

/** One item per SKU, in first-seen order: the latest `updated_at`, the later entry on a tie. */
function latestPerSku(items: readonly CatalogItem[]): {
  items: CatalogItem[];
  duplicates: number;
} {
  const chosen = new Map<string, { item: CatalogItem; ms: number }>();
  for (const item of items) {
    const ms = updatedAtMs(item);
    const seen = chosen.get(item.sku);
    if (!seen || ms >= seen.ms) chosen.set(item.sku, { item, ms });
  }
  return {
    items: [...chosen.values()].map(({ item }) => item),
    duplicates: items.length - chosen.size,
  };
}
