import type { DataOf } from '../../events/index.js';
import type { Incident } from '../ports/trace-store.js';

/**
 * The hunks of a unified diff with git's headers: `diff --git`, then `---`/`+++` without the
 * labels `diff` appends after a tab, then the hunks as they are.
 */
function gitDiffOf(diff: string): string {
  const out: string[] = [];
  for (const line of diff.split('\n')) {
    if (line.startsWith('====') || line.startsWith('Index: ')) continue;
    if (line.startsWith('--- ') || line.startsWith('+++ ')) {
      const header = line.split('\t')[0] ?? line;
      if (line.startsWith('--- ')) {
        const file = header.slice(4).replace(/^a\//, '');
        out.push(`diff --git a/${file} b/${file}`);
      }
      out.push(header);
      continue;
    }
    out.push(line);
  }
  return out.join('\n').replace(/\n*$/, '\n');
}

interface DiagnosisSnapshot {
  readonly confidence?: number;
  readonly location?: { file?: string; symbol?: string } | null;
  readonly evidence?: ReadonlyArray<{ source?: string; summary?: string }>;
}

/**
 * The fix of an incident as a git patch (`git am` / `git apply` format), so it lands in the
 * target's repository: a hot fix lives only in the running release, and the next deploy from
 * source would bring the fault back.
 */
export function gitPatchOf(incident: Incident, proposal: DataOf<'patch.proposal'>): string {
  const diagnosis = (incident.diagnosis ?? {}) as DiagnosisSnapshot;
  const where = diagnosis.location?.symbol ?? proposal.files[0] ?? 'the target';
  const subject = `Heal ${incident.fault_class ?? 'fault'} of ${incident.fields.join(', ') || 'a field'} in ${where}`;
  const date = new Date(incident.healed_at ?? incident.opened_at).toUTCString();
  const stats = proposal.files.map(
    (file) =>
      ` ${file} | ${proposal.added + proposal.removed} ${'+'.repeat(proposal.added)}${'-'.repeat(proposal.removed)}`,
  );
  const evidence = (diagnosis.evidence ?? [])
    .map((item) => `- ${item.source ?? 'evidence'}: ${item.summary ?? ''}`)
    .join('\n');
  return [
    `From ${proposal.patch_id} Mon Sep 17 00:00:00 2001`,
    'From: selfheal <selfheal@localhost>',
    `Date: ${date}`,
    `Subject: [PATCH] ${subject}`,
    '',
    `Incident ${incident.id} (${incident.status}), target ${incident.target}.`,
    `Diagnosis: ${incident.fault_class ?? 'unknown'} with confidence ${(diagnosis.confidence ?? 0).toFixed(2)}.`,
    ...(evidence ? ['', 'Evidence:', evidence] : []),
    '',
    `Applied by ${proposal.applier} to release ${proposal.base_release_id}.`,
    '---',
    ...stats,
    ` ${proposal.files.length} file${proposal.files.length === 1 ? '' : 's'} changed, ${proposal.added} insertion${proposal.added === 1 ? '' : 's'}(+), ${proposal.removed} deletion${proposal.removed === 1 ? '' : 's'}(-)`,
    '',
    gitDiffOf(proposal.diff),
  ].join('\n');
}
