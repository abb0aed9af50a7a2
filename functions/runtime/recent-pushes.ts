import { RECENT_DELTAS } from './keys.js';
import type { Ports } from './ports.js';

/** A push remembered in a recent-pushes list. */
export interface RecentPush {
  readonly push_id: string;
  /** When the stage that remembered it was done with it. */
  readonly at: string;
}

/**
 * Puts `pushId` first in the list kept under `key` (at most {@link RECENT_DELTAS} entries).
 * Last writer wins: a lost update only shortens the list rca falls back on.
 */
export async function rememberPush(
  ports: Pick<Ports, 'kv' | 'tables'>,
  key: { pk: string },
  pushId: string,
  at: Date = new Date(),
): Promise<void> {
  const pushes = await recentPushes(ports, key);
  await ports.kv.put(ports.tables.kv, {
    ...key,
    pushes: [
      { push_id: pushId, at: at.toISOString() },
      ...pushes.filter((push) => push.push_id !== pushId),
    ].slice(0, RECENT_DELTAS),
  });
}

/** The pushes remembered under `key`, newest first, those at or after `sinceMs` only. */
export async function recentPushes(
  ports: Pick<Ports, 'kv' | 'tables'>,
  key: { pk: string },
  sinceMs = 0,
): Promise<RecentPush[]> {
  const item = await ports.kv.get(ports.tables.kv, key);
  const pushes = Array.isArray(item?.pushes) ? (item.pushes as unknown[]) : [];
  return pushes.flatMap((push) => {
    const { push_id: pushId, at } = (push ?? {}) as { push_id?: unknown; at?: unknown };
    return typeof pushId === 'string' && typeof at === 'string' && Date.parse(at) >= sinceMs
      ? [{ push_id: pushId, at }]
      : [];
  });
}
