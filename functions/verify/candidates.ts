import { candidateReleaseKey, pendingHealKey } from '../runtime/keys.js';
import type { Ports } from '../runtime/ports.js';
import { type Release, sha256 } from '../target/releases.js';
import type { TargetRuntime } from '../target/target-runtime.js';

/**
 * Keeps a verified candidate release (bundle, source, diff) in the key-value store, so the heal
 * stage, running in another process or Lambda, activates exactly the bytes that were verified.
 */
export async function saveCandidate(
  ports: Pick<Ports, 'kv' | 'tables'>,
  target: string,
  release: Release,
): Promise<void> {
  await ports.kv.put(ports.tables.kv, {
    ...candidateReleaseKey(target, release.id),
    release: JSON.stringify(release),
  });
}

/**
 * The candidate release stored under `id`, or `undefined` when there is none or its bundle no
 * longer hashes to its address (nothing altered is ever activated).
 */
export async function loadCandidate(
  ports: Pick<Ports, 'kv' | 'tables'>,
  target: string,
  id: string,
): Promise<Release | undefined> {
  const item = await ports.kv.get(ports.tables.kv, candidateReleaseKey(target, id));
  if (typeof item?.release !== 'string') return undefined;
  const release = JSON.parse(item.release) as Release;
  return sha256(release.bundle) === release.hash ? release : undefined;
}

/** A release by id: known to the target, or a verified candidate kept in the key-value store. */
export async function findRelease(
  ports: Pick<Ports, 'kv' | 'tables'>,
  target: TargetRuntime,
  id: string,
): Promise<Release | undefined> {
  const known = target.release(id);
  if (known) return known;
  const stored = await loadCandidate(ports, target.manifest.name, id);
  if (stored) target.addRelease(stored);
  return stored;
}

/** How long a verified candidate counts as on its way to going live. */
export const PENDING_HEAL_MS = 10_000;

/** Notes that `releaseId` was verified for `incidentId` and its heal is about to run. */
export async function markPendingHeal(
  ports: Pick<Ports, 'kv' | 'tables'>,
  target: string,
  pending: { readonly release_id: string; readonly incident_id: string },
): Promise<void> {
  await ports.kv.put(ports.tables.kv, {
    ...pendingHealKey(target),
    ...pending,
    at: Date.now(),
  });
}

/**
 * The candidate another incident verified on top of the live release and whose heal has not
 * concluded yet: it will be live before this incident's heal runs (heals run one at a time), so
 * building on it avoids verifying on a release about to be replaced. `undefined` when there is
 * none, it is stale, it is this incident's own, or it was not built on the live release.
 */
export async function pendingHealAhead(
  ports: Pick<Ports, 'kv' | 'tables'>,
  target: TargetRuntime,
  live: Release,
  incidentId: string | undefined,
): Promise<Release | undefined> {
  const item = await ports.kv.get(ports.tables.kv, pendingHealKey(target.manifest.name));
  if (
    typeof item?.release_id !== 'string' ||
    item.incident_id === incidentId ||
    typeof item.at !== 'number' ||
    Date.now() - item.at > PENDING_HEAL_MS
  ) {
    return undefined;
  }
  const release = await findRelease(ports, target, item.release_id);
  return release?.parent_id === live.id ? release : undefined;
}

/** Empties the slot once the heal of `releaseId` has concluded, whatever its outcome. */
export async function clearPendingHeal(
  ports: Pick<Ports, 'kv' | 'tables'>,
  target: string,
  releaseId: string,
): Promise<void> {
  const item = await ports.kv.get(ports.tables.kv, pendingHealKey(target));
  if (item?.release_id === releaseId)
    await ports.kv.delete(ports.tables.kv, pendingHealKey(target));
}
