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

/**
 * The ids of the pushes most recently synced into the target, newest first: a push is synced
 * before any failure it causes can be observed, while its delta may still be on its way.
 */
export const recentSyncsKey = (): { pk: string } => ({ pk: 'syncs#recent' });

/** How many recent pushes are remembered. */
export const RECENT_DELTAS = 10;

/** A patch proposal kept by the guard, so a person can approve it later. */
export const proposalKey = (patchId: string): { pk: string } => ({ pk: `proposal#${patchId}` });

/** A verified candidate release (its bundle and source), for heal and for rollbacks. */
export const candidateReleaseKey = (target: string, releaseId: string): { pk: string } => ({
  pk: `release#${target}#${releaseId}`,
});

/** The release a target runs, as its deployer last activated it (shared by every function). */
export const activeReleaseKey = (target: string): { pk: string } => ({
  pk: `active-release#${target}`,
});

/** The verified candidate of a target waiting for its heal, if any (one slot per target). */
export const pendingHealKey = (target: string): { pk: string } => ({
  pk: `pending-heal#${target}`,
});

/** The heal of an incident: claimed once, with its progress and what to restore. */
export const healKey = (incidentId: string): { pk: string } => ({ pk: `heal#${incidentId}` });

/** One chunk of the records a heal replaced, as they were before it. */
export const healBackupKey = (incidentId: string, chunk: number): { pk: string } => ({
  pk: `heal#${incidentId}#backup#${chunk}`,
});
