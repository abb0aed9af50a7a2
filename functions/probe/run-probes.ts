import type { CapturedRequest, DataOf } from '../../events/index.js';
import type { TargetManifest } from '../target/define-target.js';
import { checkProbeResponse } from '../target/expectations.js';

/** What one probe call found wrong. */
export interface ProbeFinding {
  readonly kind: 'ProbeFailure' | 'DependencyDown';
  readonly probe: string;
  readonly sku: string;
  readonly request: CapturedRequest;
  /** The contract field at fault, when the response names or reveals one. */
  readonly field?: string;
  readonly response?: { status: number; body: unknown };
  readonly reason: string;
}

export interface ProbeRunOptions {
  /** Base URL of the target's API; probes go over HTTP, never in process. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly now: Date;
  /** Calls in flight at once. */
  readonly concurrency?: number;
}

/** The field a failing response points at: named by the target, or where the contract broke. */
function fieldOf(body: unknown, issuePath: readonly PropertyKey[] | undefined): string | undefined {
  if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { field?: unknown }).field === 'string'
  ) {
    return (body as { field: string }).field;
  }
  const first = issuePath?.[0];
  return first === undefined ? undefined : String(first);
}

/** Calls one probe for one SKU and judges the answer; `undefined` when all is well. */
async function probeOnce(
  manifestProbe: TargetManifest['probes'][number],
  sku: string,
  request: CapturedRequest,
  options: ProbeRunOptions,
): Promise<ProbeFinding | undefined> {
  let response: Response;
  try {
    response = await fetch(new URL(request.path, options.baseUrl), {
      method: request.method,
      headers: request.body === undefined ? {} : { 'content-type': 'application/json' },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${options.timeoutMs} ms`
        : `unreachable: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`;
    return { kind: 'DependencyDown', probe: manifestProbe.name, sku, request, reason };
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // A non-JSON body stays text; the contract check below reports it.
  }
  const verdict = checkProbeResponse(manifestProbe, { status: response.status, body });
  if (verdict.passed) return undefined;
  const issuePath = verdict.reason === 'contract' ? verdict.issues[0]?.path : undefined;
  const field = fieldOf(body, issuePath);
  return {
    kind: 'ProbeFailure',
    probe: manifestProbe.name,
    sku,
    request,
    ...(field ? { field } : {}),
    response: { status: response.status, body },
    reason:
      verdict.reason === 'status'
        ? `status ${response.status}, expected ${verdict.expected}`
        : `response breaks the contract at ${issuePath?.join('.') || '(body)'}`,
  };
}

/** Runs every probe of a target for each SKU, over HTTP, with bounded concurrency. */
export async function runProbes(
  manifest: TargetManifest,
  skus: readonly string[],
  options: ProbeRunOptions,
): Promise<{ calls: number; findings: ProbeFinding[] }> {
  const jobs: Array<() => Promise<ProbeFinding | undefined>> = [];
  for (const sku of skus) {
    for (const probe of manifest.probes) {
      const request = probe.request(sku, { now: options.now });
      if (request) jobs.push(() => probeOnce(probe, sku, request, options));
    }
  }
  // Results by job, so findings keep the SKUs' order whatever order the calls finish in: the
  // first SKU's failing request is the one a signal captures.
  const results: Array<ProbeFinding | undefined> = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]?.();
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? 8, jobs.length) }, worker),
  );
  const findings = results.filter((finding): finding is ProbeFinding => finding !== undefined);
  return { calls: jobs.length, findings };
}

/**
 * Groups findings into signals: one per (kind, probe, field), naming its SKUs, with the first
 * failing request captured for replay and the response it got.
 */
export function signalsOf(
  targetName: string,
  findings: readonly ProbeFinding[],
  extra: { push_id?: string; release_id?: string } = {},
): DataOf<'signal'>[] {
  const groups = new Map<string, ProbeFinding[]>();
  for (const finding of findings) {
    const key = `${finding.kind}\u0000${finding.probe}\u0000${finding.field ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), finding]);
  }
  return [...groups.values()].map((group) => {
    const [first] = group as [ProbeFinding, ...ProbeFinding[]];
    const skus = [...new Set(group.map((f) => f.sku))];
    return {
      kind: first.kind,
      target: targetName,
      ...(first.field ? { field: first.field } : {}),
      skus,
      sku_count: skus.length,
      samples: group.slice(0, 5).map((f) => ({ sku: f.sku, value: f.response?.body ?? f.reason })),
      request: first.request,
      ...(first.response ? { response: first.response } : {}),
      onset_at: new Date().toISOString(),
      message: `${first.probe}: ${first.reason}`,
      ...extra,
    };
  });
}
