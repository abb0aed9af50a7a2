import type { ShopService } from '../functions/shop/shop-service.js';
import type { ExpectedDiagnosis } from './types.js';

/**
 * The oracle's view of the target, taken from outside the healing system: the stored records
 * (read from the shop's own store), the shop's API, and the releases its deployer serves.
 * Nothing here reads an incident's status.
 */

/** SKU → the record as stored, as canonical JSON without `synced_at` (the one field a re-sync
 * changes by design). Missing SKUs are absent from the map. */
export type RecordView = ReadonlyMap<string, string>;

/** Reads the records of `skus` (every stored SKU when omitted). */
export async function readRecords(
  shop: ShopService,
  skus?: readonly string[],
): Promise<RecordView> {
  const products =
    skus === undefined
      ? (await shop.records.snapshot()).products
      : await shop.records.getMany(skus);
  return new Map(products.map((p) => [p.sku, canonical(p.record)]));
}

/** JSON with sorted keys and without `synced_at`, so two equal records compare equal as text. */
export function canonical(record: unknown): string {
  return JSON.stringify(record, (key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([name]) => !(key === '' && name === 'synced_at'))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries);
  });
}

/** How `actual` differs from `expected` over `skus` (every SKU of either when omitted). */
export function compareRecords(
  expected: RecordView,
  actual: RecordView,
  skus?: Iterable<string>,
): { readonly differing: string[]; readonly missing: string[]; readonly extra: string[] } {
  const differing: string[] = [];
  const missing: string[] = [];
  const extra: string[] = [];
  const universe = skus ? new Set(skus) : new Set([...expected.keys(), ...actual.keys()]);
  for (const sku of universe) {
    const want = expected.get(sku);
    const got = actual.get(sku);
    if (want === undefined && got !== undefined) extra.push(sku);
    else if (want !== undefined && got === undefined) missing.push(sku);
    else if (want !== got) differing.push(sku);
  }
  return { differing, missing, extra };
}

/** SKUs of `skus` whose stored record is missing or breaks the target's record contract. */
export async function contractBreaks(
  shop: ShopService,
  skus: readonly string[],
): Promise<string[]> {
  const stored = new Map((await shop.records.getMany(skus)).map((p) => [p.sku, p.record]));
  return skus.filter((sku) => !shop.manifest.recordContract.safeParse(stored.get(sku)).success);
}

/** A failed call of the shop's API: which request and what came back. */
export interface ApiFailure {
  readonly probe: string;
  readonly sku: string;
  readonly status: number;
  readonly reason: string;
}

/**
 * Calls the shop's API as its customers do: every probe of the target's manifest for each SKU,
 * each response checked against its contract and status.
 */
export async function callApi(
  shop: ShopService,
  baseUrl: string,
  skus: readonly string[],
): Promise<ApiFailure[]> {
  const now = new Date();
  const failures: ApiFailure[] = [];
  await Promise.all(
    skus.flatMap((sku) =>
      shop.manifest.probes.map(async (probe) => {
        const request = probe.request(sku, { now });
        if (!request) return;
        const expectStatus = probe.expectStatus ?? 200;
        try {
          const response = await fetch(new URL(request.path, baseUrl), {
            method: request.method,
            headers: request.body === undefined ? {} : { 'content-type': 'application/json' },
            body: request.body === undefined ? undefined : JSON.stringify(request.body),
            signal: AbortSignal.timeout(5_000),
          });
          const body = (await response.json().catch(() => undefined)) as unknown;
          if (response.status !== expectStatus) {
            failures.push({ probe: probe.name, sku, status: response.status, reason: 'status' });
          } else if (!probe.responseContract.safeParse(body).success) {
            failures.push({ probe: probe.name, sku, status: response.status, reason: 'contract' });
          }
        } catch (error) {
          failures.push({ probe: probe.name, sku, status: 0, reason: (error as Error).message });
        }
      }),
    ),
  );
  return failures;
}

/** Spreads `count` SKUs evenly over a sorted list, for checks that need not touch all. */
export function sample(skus: readonly string[], count: number): string[] {
  if (skus.length <= count) return [...skus];
  const step = skus.length / count;
  return Array.from({ length: count }, (_, i) => skus[Math.floor(i * step)] as string);
}

/** An incident as the scorer reads it: only what the diagnosis said, never its status. */
export interface DiagnosedIncident {
  readonly fault_class: string | null;
  readonly fields: readonly string[];
}

/**
 * Whether the incidents opened during the run are exactly the expected faults: each expected
 * one found (class, and field when it has one), and nothing else diagnosed.
 */
export function diagnosisCorrect(
  expected: readonly ExpectedDiagnosis[],
  incidents: readonly DiagnosedIncident[],
): boolean {
  const matches = (want: ExpectedDiagnosis, got: DiagnosedIncident) =>
    got.fault_class === want.fault_class &&
    (want.field === undefined || got.fields.includes(want.field));
  return (
    expected.every((want) => incidents.some((got) => matches(want, got))) &&
    incidents.every((got) => expected.some((want) => matches(want, got)))
  );
}

/**
 * Whether the live code differs from the faulty code only where the faults needed: every
 * removed line and every added record property names one of the faulty fields (helpers a
 * template adds are not properties of the record literal and pass).
 */
export function patchMinimal(diff: string, fields: readonly string[]): boolean {
  const namesField = (line: string) => fields.some((field) => line.includes(field));
  for (const line of diff.split('\n')) {
    if (line.startsWith('+++') || line.startsWith('---')) continue;
    const body = line.slice(1);
    if (line.startsWith('-') && body.trim() !== '' && !namesField(body)) return false;
    if (line.startsWith('+') && /^\s{4}[A-Za-z_]\w*\s*:/.test(body) && !namesField(body)) {
      return false;
    }
  }
  return true;
}
