import type { DataOf } from '../../events/index.js';
import { proposalKey } from '../runtime/keys.js';
import type { Ports } from '../runtime/ports.js';

/** A proposal as the guard judged it, with what a later approval needs to send it on. */
export interface StoredProposal {
  readonly incident_id: string;
  readonly proposal: DataOf<'patch.proposal'>;
  readonly fields: readonly string[];
}

/** Keeps a judged proposal so a person can approve it later, from any process. */
export async function saveProposal(
  ports: Pick<Ports, 'kv' | 'tables'>,
  stored: StoredProposal,
): Promise<void> {
  await ports.kv.put(ports.tables.kv, {
    ...proposalKey(stored.proposal.patch_id),
    incident_id: stored.incident_id,
    body: JSON.stringify(stored),
  });
}

export async function loadProposal(
  ports: Pick<Ports, 'kv' | 'tables'>,
  patchId: string,
): Promise<StoredProposal | undefined> {
  const item = await ports.kv.get(ports.tables.kv, proposalKey(patchId));
  return typeof item?.body === 'string' ? (JSON.parse(item.body) as StoredProposal) : undefined;
}
