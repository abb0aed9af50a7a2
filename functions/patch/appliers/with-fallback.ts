import type { z } from 'zod';
import type { PatchProposalDataSchema } from '../../../events/healing.js';
import type { Applier, ApplyRequest, ApplyResult } from '../applier.js';
import { MorphApplier, type MorphApplierOptions } from './morph-applier.js';

/** One applier's try, as `patch.proposal` records it. */
export type ApplyAttempt = z.infer<typeof PatchProposalDataSchema>['attempts'][number];

export interface FallbackOutcome {
  /** The primary's result when it succeeded, the fallback's otherwise. */
  readonly result: ApplyResult;
  /** Every applier tried, in order. */
  readonly attempts: ApplyAttempt[];
}

const attemptOf = (result: ApplyResult): ApplyAttempt =>
  result.ok
    ? { applier: result.applier, ok: true, duration_ms: result.duration_ms }
    : {
        applier: result.applier,
        ok: false,
        reason: result.reason,
        duration_ms: result.duration_ms,
      };

/** Appliers return failures as values; one that throws anyway is turned into one. */
async function applySafely(applier: Applier, request: ApplyRequest): Promise<ApplyResult> {
  const started = performance.now();
  try {
    return await applier.apply(request);
  } catch (error) {
    return {
      ok: false,
      applier: applier.name,
      reason: 'threw',
      message: error instanceof Error ? error.message : String(error),
      duration_ms: performance.now() - started,
    };
  }
}

/**
 * Tries `primary` (Morph, when configured) and falls back to `fallback` (the local merger) on any
 * failure. Both tries are recorded; the fallback's result is final even when it fails too.
 *
 * @example
 * const { result, attempts } = await applyWithFallback(morph, local, request);
 * // attempts: [{ applier: 'morph', ok: false, reason: 'http-401', … }, { applier: 'local', ok: true, … }]
 */
export async function applyWithFallback(
  primary: Applier | undefined,
  fallback: Applier,
  request: ApplyRequest,
): Promise<FallbackOutcome> {
  const attempts: ApplyAttempt[] = [];
  if (primary) {
    const first = await applySafely(primary, request);
    attempts.push(attemptOf(first));
    if (first.ok) return { result: first, attempts };
  }
  const second = await applySafely(fallback, request);
  attempts.push(attemptOf(second));
  return { result: second, attempts };
}

/** The configuration keys the chain reads (a subset of the runtime config). */
export interface ApplierChainConfig {
  readonly MORPH_API_KEY?: string | undefined;
  readonly MORPH_MODEL?: string | undefined;
  readonly MORPH_BASE_URL?: string | undefined;
}

export interface ApplierChain {
  /** Morph, or undefined when no key is configured. */
  readonly primary: Applier | undefined;
  readonly fallback: Applier;
  apply(request: ApplyRequest): Promise<FallbackOutcome>;
}

/**
 * Morph first when `MORPH_API_KEY` is set (non-blank), then the local merger; the local merger
 * alone otherwise. `options` tunes the Morph adapter (timeouts, retries, fetch).
 */
export function createApplierChain(
  config: ApplierChainConfig,
  local: Applier,
  options: Omit<MorphApplierOptions, 'apiKey' | 'model' | 'baseUrl'> = {},
): ApplierChain {
  const apiKey = config.MORPH_API_KEY?.trim();
  const primary = apiKey
    ? new MorphApplier({
        ...options,
        apiKey,
        // Blank values mean "the default", as an unset variable does.
        model: config.MORPH_MODEL?.trim() || undefined,
        baseUrl: config.MORPH_BASE_URL?.trim() || undefined,
      })
    : undefined;
  return {
    primary,
    fallback: local,
    apply: (request) => applyWithFallback(primary, local, request),
  };
}
