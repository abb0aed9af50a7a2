import type { z } from 'zod';
import type { SmokeCase, TargetProbe } from './define-target.js';

/** A response the target gave: status and parsed JSON body. */
export interface TargetResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Whether a response met what a probe or smoke case expects; a failure says why. */
export type ExpectationResult =
  | { readonly passed: true }
  | { readonly passed: false; readonly reason: 'status'; readonly expected: number }
  | {
      readonly passed: false;
      readonly reason: 'contract';
      readonly issues: readonly z.core.$ZodIssue[];
    }
  | { readonly passed: false; readonly reason: 'predicate' };

/** Checks a live response against a probe: the expected status, then the response contract. */
export function checkProbeResponse(
  probe: TargetProbe,
  response: TargetResponse,
): ExpectationResult {
  return checkContract(probe.expectStatus ?? 200, probe.responseContract, response);
}

/** Checks a response against a smoke case's expectation (a predicate or a status and contract). */
export function checkSmokeCase(smoke: SmokeCase, response: TargetResponse): ExpectationResult {
  const { expect } = smoke;
  if (typeof expect === 'function') {
    return expect(response.status, response.body)
      ? { passed: true }
      : { passed: false, reason: 'predicate' };
  }
  return checkContract(expect.status, expect.contract, response);
}

function checkContract(
  status: number,
  contract: z.ZodType | undefined,
  response: TargetResponse,
): ExpectationResult {
  if (response.status !== status) return { passed: false, reason: 'status', expected: status };
  if (!contract) return { passed: true };
  const parsed = contract.safeParse(response.body);
  return parsed.success
    ? { passed: true }
    : { passed: false, reason: 'contract', issues: parsed.error.issues };
}
