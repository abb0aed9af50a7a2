import { candidateReleaseKey } from '../runtime/keys.js';
import type { Ports } from '../runtime/ports.js';
import { type Release, sha256 } from '../target/releases.js';

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
