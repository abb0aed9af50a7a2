/**
 * Keys of the small records stages leave for each other in the kv table. One place, so a
 * writer and its readers cannot drift apart.
 */

/** The marker the sync writes once a push's records are committed. */
export const syncMarkerKey = (pushId: string): { pk: string } => ({ pk: `synced#${pushId}` });

/** A push's field changes, kept so rca can join a signal with the push that caused it. */
export const deltaKey = (pushId: string): { pk: string } => ({ pk: `delta#${pushId}` });

/** The ids of the most recent pushes, newest first, for signals that carry no push id. */
export const recentDeltasKey = (): { pk: string } => ({ pk: 'deltas#recent' });

/** How many recent pushes are remembered. */
export const RECENT_DELTAS = 10;
