import { healBackupKey, healKey } from '../runtime/keys.js';
import type { Ports } from '../runtime/ports.js';
import type { ProductSnapshot, StoredProduct } from '../shop/product-store.js';
import { recordsHash } from '../target/damage.js';
import type { TargetRuntime } from '../target/target-runtime.js';

/** Records per backup item: about 60 KB, well under DynamoDB's 400 KB item limit. */
const BACKUP_CHUNK = 200;

/**
 * The heal of one incident as kept in the key-value store: who claimed it, what it replaces,
 * how far the backfill got. It is what makes a heal once-only, resumable after a crash, and
 * reversible later by hand.
 */
export interface HealState {
  /** The verification event that claimed the heal. */
  readonly event_id: string;
  readonly release_id: string;
  readonly previous_release_id: string;
  readonly previous_release_hash: string;
  /** The damaged SKUs the backfill repairs, in order. */
  readonly skus: readonly string[];
  /** Content hash of those SKUs' records before the heal; set once the backup is saved. */
  readonly records_hash_before?: string;
  readonly backup_chunks?: number;
  /** SKUs of `skus` already re-synced. */
  readonly backfilled: number;
  readonly repaired: number;
  readonly failed: number;
  readonly phase: 'claimed' | 'healed' | 'rolled_back';
}

type Claim =
  | { readonly kind: 'claimed'; readonly state: HealState; readonly resumed: boolean }
  | { readonly kind: 'taken'; readonly state: HealState };

const table = (ports: Pick<Ports, 'tables'>) => ports.tables.kv;

export async function readHealState(
  ports: Pick<Ports, 'kv' | 'tables'>,
  incidentId: string,
): Promise<HealState | undefined> {
  const item = await ports.kv.get(table(ports), healKey(incidentId));
  return typeof item?.state === 'string' ? (JSON.parse(item.state) as HealState) : undefined;
}

/**
 * Claims the heal of an incident for one verification event. A second event for the same
 * incident finds it taken; the same event again (a redelivery after a crash) resumes it.
 */
export async function claimHeal(
  ports: Pick<Ports, 'kv' | 'tables'>,
  incidentId: string,
  init: Pick<
    HealState,
    'event_id' | 'release_id' | 'previous_release_id' | 'previous_release_hash' | 'skus'
  >,
): Promise<Claim> {
  const state: HealState = { ...init, backfilled: 0, repaired: 0, failed: 0, phase: 'claimed' };
  const put = await ports.kv.put(
    table(ports),
    { ...healKey(incidentId), state: JSON.stringify(state) },
    { ifNotExists: 'pk' },
  );
  if (put.ok) return { kind: 'claimed', state, resumed: false };
  const existing = await readHealState(ports, incidentId);
  if (!existing) throw new Error(`heal of ${incidentId} is claimed but unreadable`);
  return existing.event_id === init.event_id && existing.phase === 'claimed'
    ? { kind: 'claimed', state: existing, resumed: true }
    : { kind: 'taken', state: existing };
}

/**
 * Merges changes into the state and stores it. The claim holder is the only writer of an
 * incident's state, so it writes from the state it holds, without reading it back first.
 */
export async function updateHealState(
  ports: Pick<Ports, 'kv' | 'tables'>,
  incidentId: string,
  current: HealState,
  changes: Partial<HealState>,
): Promise<HealState> {
  const next = { ...current, ...changes };
  await ports.kv.put(table(ports), { ...healKey(incidentId), state: JSON.stringify(next) });
  return next;
}

/**
 * Saves the records the heal is about to replace, in chunks, with the content hash of everything
 * saved so far. The first call saves `state.skus`; a later call adds SKUs found damaged after
 * activation (written by the old release while the heal began), so they are restored too.
 */
export async function saveBackup(
  ports: Pick<Ports, 'kv' | 'tables'>,
  target: TargetRuntime,
  incidentId: string,
  state: HealState,
  more: readonly string[] = [],
): Promise<HealState> {
  const first = state.backup_chunks === undefined;
  const skus = first ? state.skus : more;
  const snapshot = await target.records.snapshot(skus);
  const earlier = first ? [] : (await loadBackup(ports, incidentId, state)).products;
  const offset = state.backup_chunks ?? 0;
  const chunks: StoredProduct[][] = [];
  for (let i = 0; i < snapshot.products.length; i += BACKUP_CHUNK) {
    chunks.push(snapshot.products.slice(i, i + BACKUP_CHUNK));
  }
  await ports.kv.putMany(
    table(ports),
    chunks.map((products, index) => ({
      ...healBackupKey(incidentId, offset + index),
      products: JSON.stringify(products),
    })),
  );
  return updateHealState(ports, incidentId, state, {
    ...(first ? {} : { skus: [...state.skus, ...more] }),
    records_hash_before: recordsHash([...earlier, ...snapshot.products]),
    backup_chunks: offset + chunks.length,
  });
}

/** The records as they were before the heal, ready for `ProductStore.restore`. */
export async function loadBackup(
  ports: Pick<Ports, 'kv' | 'tables'>,
  incidentId: string,
  state: HealState,
): Promise<ProductSnapshot> {
  const count = state.backup_chunks ?? 0;
  const items = await ports.kv.getMany(
    table(ports),
    Array.from({ length: count }, (_, index) => healBackupKey(incidentId, index)),
  );
  const missing = items.filter((item) => typeof item?.products !== 'string').length;
  if (missing > 0) {
    throw new Error(`backup of ${incidentId} is incomplete: ${missing} of ${count} chunks missing`);
  }
  const products = items.flatMap((item) => JSON.parse(String(item?.products)) as StoredProduct[]);
  return { skus: state.skus, products };
}
