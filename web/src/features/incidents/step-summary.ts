/** Reads a few well-known keys of a step's detail into short phrases for the timeline. */
export function stepSummary(detail: Record<string, unknown>): string[] {
  const parts: string[] = [];
  const text = (key: string) => {
    const value = detail[key];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  };
  const faultClass = text('fault_class');
  if (faultClass) parts.push(faultClass);
  const confidence = detail.confidence;
  if (typeof confidence === 'number') parts.push(`confidence ${Math.round(confidence * 100)}%`);
  const kind = text('kind');
  if (kind) parts.push(detail.joined === true ? `${kind} joined` : kind);
  const decision = text('decision');
  if (decision) parts.push(decision.replaceAll('_', ' '));
  if (Array.isArray(detail.reasons) && detail.reasons.length > 0) {
    parts.push(`${detail.reasons.length} reason${detail.reasons.length === 1 ? '' : 's'}`);
  }
  const planner = text('planner');
  const applier = text('applier');
  if (planner || applier) parts.push([planner, applier].filter(Boolean).join(' + '));
  if (typeof detail.added === 'number' || typeof detail.removed === 'number') {
    parts.push(`+${Number(detail.added ?? 0)} −${Number(detail.removed ?? 0)}`);
  }
  if (Array.isArray(detail.checks)) {
    const ok = detail.checks.filter(
      (check) => typeof check === 'object' && check !== null && 'ok' in check && check.ok === true,
    ).length;
    parts.push(`${ok}/${detail.checks.length} checks passed`);
  }
  const backfill = detail.backfill;
  if (typeof backfill === 'object' && backfill !== null && 'repaired' in backfill) {
    parts.push(`${Number(backfill.repaired)} records repaired`);
  }
  const status = text('status');
  if (status) parts.push(status.replaceAll('_', ' '));
  const reason = text('reason') ?? text('error');
  if (reason) parts.push(reason);
  return parts;
}
