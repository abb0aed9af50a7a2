import type { z } from 'zod';
import type { VerificationCheckSchema } from '../../../events/healing.js';
import type { TargetRequest } from '../../target/define-target.js';

/**
 * The types, file names and stdin/stdout protocol both sides of the verification sandbox agree
 * on: the parent (`run-sandbox.ts`) starts a child, writes a run directory and sends the go; the
 * child (`harness.ts`) says it is ready, waits for the go, reads the directory and writes one
 * result line.
 *
 * This module is bundled into the child, so it must stay free of runtime imports.
 */

/** One verification check with its counts and first failures (`VerificationCheckSchema`). */
export type VerificationCheck = z.infer<typeof VerificationCheckSchema>;

/** The checks a sandbox run reports, in the order it runs them. */
export const SANDBOX_CHECKS = ['replay', 'smoke', 'differential'] as const;

/**
 * Names of the files the parent writes into a run directory for the child: the warm-up module
 * when it creates the directory, before the child starts; the others when a run takes the child.
 */
export const SANDBOX_FILES = {
  warmUp: 'warm-up.mjs',
  candidate: 'candidate.mjs',
  live: 'live.mjs',
  fixtures: 'fixtures.json',
} as const;

/** The text of the warm-up module: nothing, imported once so the run's imports find a warm loader. */
export const SANDBOX_WARM_UP_MODULE = 'export {};\n';

/**
 * The line the harness writes to stdout once it is loaded and locked down, before it waits for
 * its go: from here on the child only needs its run's files.
 */
export const SANDBOX_READY = 'sandbox-ready';

/**
 * The second line of the message the parent sends on stdin (`<nonce>\ngo\n`, then end of input)
 * once the run's files are in place. A child whose stdin ends without it exits without running.
 */
export const SANDBOX_GO = 'go';

/** What a sandbox run verifies: a candidate release against the live one, on upstream data. */
export interface SandboxInput {
  /** The mapper export every release bundle provides (the manifest's `mapper.export`). */
  readonly exportName: string;
  /** The release under verification. */
  readonly candidate: { readonly id: string; readonly bundle: string };
  /** The release serving now, the baseline of the differential run. */
  readonly live: { readonly id: string; readonly bundle: string };
  /** Catalog items (the upstream data), mapped through the candidate to fill the served API. */
  readonly items: ReadonlyArray<{ readonly sku: string; readonly item: unknown }>;
  /** SKUs to replay: their records and probes must be healthy under the candidate. */
  readonly affected: readonly string[];
  /**
   * The affected SKUs whose probes are called (default: all of them). Every affected record is
   * checked against the contract either way; probing a bounded sample keeps a wide fault's
   * verification short.
   */
  readonly probed?: readonly string[];
  /** SKUs of the differential run: mapped through live and candidate and compared. */
  readonly sample: readonly string[];
  /** Failing requests the sensors captured; each must be answered correctly now. */
  readonly captured: readonly TargetRequest[];
  /** Top-level record fields the diagnosis says may change; any other difference fails. */
  readonly allowedFields: readonly string[];
  /** ISO 8601: the fixed clock, used as `synced_at` and for the orders fixture. */
  readonly now: string;
}

/** Why a sandbox run ended without a trustworthy report of its own. */
export type SandboxErrorReason = 'timeout' | 'crashed' | 'memory' | 'denied' | 'bad-output';

/** The verdict of one sandbox run. */
export interface SandboxResult {
  /** True only when the child reported and every check passed. */
  readonly ok: boolean;
  /** The checks the child reported; empty when it failed before reporting. */
  readonly checks: VerificationCheck[];
  /**
   * Set when the child did not report (timeout, crash, out of memory, unreadable output), and
   * when code under verification was refused a forbidden operation (`denied`), even if the
   * child still reported its checks.
   */
  readonly error?: { readonly reason: SandboxErrorReason; readonly message: string };
  /** Wall time of the whole run, parent side, files and cleanup included. */
  readonly duration_ms: number;
  /**
   * True when a pre-spawned child of the warm pool ran it (Node started and the harness loaded
   * before the run began); false when the run had to start a child of its own.
   */
  readonly warm: boolean;
}

/** The contents of `fixtures.json`: the input, minus the bundles (they are files of their own). */
export interface SandboxFixtures {
  readonly exportName: string;
  readonly candidateId: string;
  readonly liveId: string;
  readonly items: SandboxInput['items'];
  readonly affected: readonly string[];
  readonly probed?: readonly string[];
  readonly sample: readonly string[];
  readonly captured: readonly TargetRequest[];
  readonly allowedFields: readonly string[];
  readonly now: string;
}

/**
 * The one line the child writes to stdout. `nonce` is the token the parent sent on stdin before
 * any candidate code ran: a line without it was not written by the harness and is ignored.
 */
export interface SandboxReport {
  readonly nonce: string;
  readonly ok: boolean;
  readonly checks: VerificationCheck[];
}
