import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { FaultClass } from '../../events/healing.js';

/**
 * The guard's policy: how far the system may act on its own, how big a patch may be, what a patch
 * may never touch, and when nothing may go live at all. Read once at start-up from
 * `selfheal.policy.json` at the repository root (every key optional; what a file leaves out keeps
 * its default), so an operator tightens the guard without touching code.
 */

/** How far the system goes for one fault class. */
export const AutonomyLevelSchema = z.enum(['observe', 'propose', 'auto'], {
  error: 'expected one of observe|propose|auto',
});
/**
 * - `observe`: diagnose and record, never patch;
 * - `propose`: patch and verify, then wait for a person to approve;
 * - `auto`: ship a verified patch without asking.
 */
export type AutonomyLevel = z.infer<typeof AutonomyLevelSchema>;

/** Modules a patch may never import, with or without `node:`, nor any of their subpaths. */
export const DEFAULT_FORBIDDEN_MODULES: readonly string[] = [
  'child_process',
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'worker_threads',
  'vm',
  'cluster',
  'module',
  'inspector',
];

const level = (fallback: AutonomyLevel) => AutonomyLevelSchema.default(fallback);

/** Per fault class; a class the file leaves out keeps its default. */
const AutonomySchema = z
  .strictObject({
    'dropped-field': level('auto'),
    'renamed-field': level('auto'),
    'moved-field': level('auto'),
    'type-drift': level('auto'),
    'enum-drift': level('propose'),
    'dependency-down': level('observe'),
    unknown: level('propose'),
  } satisfies Record<FaultClass, unknown>)
  .prefault({});

const IsoDateTime = z.iso.datetime({ offset: true });
const CLOCK = /^(?:[01]\d|2[0-3]):[0-5]\d$/;

/** A one-off freeze: nothing goes live from `from` (inclusive) to `to` (exclusive). */
const AbsoluteFreezeSchema = z
  .strictObject({
    from: IsoDateTime,
    to: IsoDateTime,
    reason: z.string().min(1).optional(),
  })
  .refine((window) => Date.parse(window.to) > Date.parse(window.from), {
    message: 'to must be after from',
    path: ['to'],
  });

/**
 * A weekly freeze in UTC: on each listed weekday (Sunday = 0) from `start` (inclusive) to `end`
 * (exclusive). An `end` at or before `start` runs past midnight into the next day; `24:00` ends
 * at midnight.
 */
const WeeklyFreezeSchema = z
  .strictObject({
    weekdays: z.array(z.number().int().min(0).max(6)).min(1),
    start: z.string().regex(CLOCK, 'expected HH:MM (00:00 to 23:59)'),
    end: z
      .string()
      .regex(/^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/, 'expected HH:MM (00:00 to 24:00)'),
    reason: z.string().min(1).optional(),
  })
  .refine((window) => window.end !== window.start, {
    message: 'end must differ from start',
    path: ['end'],
  });

/** A time during which no patch may go live, whatever the autonomy. */
export const FreezeWindowSchema = z.union([AbsoluteFreezeSchema, WeeklyFreezeSchema]);
export type FreezeWindow = z.infer<typeof FreezeWindowSchema>;

const positiveInt = (fallback: number) => z.number().int().positive().default(fallback);

/**
 * The policy file's schema. Objects are strict, so a misspelt key is an error instead of a
 * setting silently ignored; arrays given in a file replace the default arrays.
 */
export const PolicySchema = z
  .strictObject({
    autonomy: AutonomySchema,
    /** Below this diagnosis confidence an `auto` class only proposes. */
    min_confidence_for_auto: z.number().min(0).max(1).default(0.6),
    /** Most files one patch may change. */
    max_files: positiveInt(1),
    /** Most changed lines (added + removed, counted on the diff) one patch may have. */
    max_changed_lines: positiveInt(20),
    /**
     * Extra repository-relative globs: when given, a file must match one of these as well as the
     * target manifest's `patchable` globs.
     */
    allowlist: z.array(z.string().min(1)).optional(),
    /** Modules no added line may import; `node:` prefixes and subpaths are matched too. */
    forbidden_modules: z.array(z.string().min(1)).default(() => [...DEFAULT_FORBIDDEN_MODULES]),
    /** Circuit breaker: most heals per target in any hour. */
    heals_per_hour: positiveInt(10),
    freeze_windows: z.array(FreezeWindowSchema).default(() => []),
    /** Most SKUs one heal may re-sync. */
    max_backfill_skus: positiveInt(1000),
  })
  .prefault({});
export type Policy = z.infer<typeof PolicySchema>;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * The policy when no file is given: what `selfheal.policy.json` in the repository spells out.
 * Frozen, deeply: derive a policy with {@link parsePolicy} instead of editing this one.
 */
export const DEFAULT_POLICY: Policy = deepFreeze(PolicySchema.parse({}));

/** The name of the policy file looked for in the working directory. */
export const POLICY_FILE_NAME = 'selfheal.policy.json';

/** One bad field of a policy. */
export interface PolicyProblem {
  /** Dotted path of the field (`autonomy.dropped-field`), `(root)` for the policy itself. */
  readonly path: string;
  readonly message: string;
}

/**
 * Start-up stops here when the policy is wrong: the message names the source and every bad field,
 * e.g. `selfheal.policy.json: autonomy.dropped-field: expected one of observe|propose|auto`.
 */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly source: string,
    readonly problems: readonly PolicyProblem[],
  ) {
    super(`${source}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  }
}

const pathText = (segments: readonly PropertyKey[]) => segments.map(String).join('.') || '(root)';

/** Flattens zod issues: one problem per unknown key, the closest branch of a failed union. */
function problemsOf(
  issues: readonly z.core.$ZodIssue[],
  prefix: PropertyKey[] = [],
): PolicyProblem[] {
  return issues.flatMap((issue): PolicyProblem[] => {
    const at = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: pathText([...at, key]),
        message: `Unrecognized key: "${key}"`,
      }));
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const closest = issue.errors.reduce((best, branch) =>
        branch.length < best.length ? branch : best,
      );
      return problemsOf(closest, at);
    }
    return [{ path: pathText(at), message: issue.message }];
  });
}

/**
 * Validates a policy (the parsed JSON of a policy file) and fills in the defaults.
 *
 * @param source - where the value came from, named in errors (a file name)
 * @throws {PolicyError} naming `source` and every bad field
 * @example
 * ```ts
 * parsePolicy({ autonomy: { 'type-drift': 'propose' } }, 'selfheal.policy.json').autonomy;
 * // { 'dropped-field': 'auto', …, 'type-drift': 'propose', … }
 * ```
 */
export function parsePolicy(value: unknown, source: string): Policy {
  const result = PolicySchema.safeParse(value);
  if (result.success) return result.data;
  throw new PolicyError(source, problemsOf(result.error.issues));
}

/**
 * Loads the policy at start-up. An explicit `file` (relative to `cwd`) must exist; without one,
 * `<cwd>/selfheal.policy.json` is read when present, else {@link DEFAULT_POLICY} applies.
 *
 * @throws {PolicyError} when the file is missing (explicit only), unreadable, not JSON or invalid
 */
export function loadPolicy(options: { file?: string; cwd?: string } = {}): Policy {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const explicit = options.file !== undefined;
  const file = path.resolve(cwd, options.file ?? POLICY_FILE_NAME);
  const source = explicit ? (options.file as string) : displayPath(file);
  if (!existsSync(file)) {
    if (explicit) throw new PolicyError(source, [{ path: '(root)', message: 'file not found' }]);
    return DEFAULT_POLICY;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PolicyError(source, [
      { path: '(root)', message: `cannot read: ${messageOf(error)}` },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PolicyError(source, [
      { path: '(root)', message: `invalid JSON: ${messageOf(error)}` },
    ]);
  }
  return parsePolicy(value, source);
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Relative to the process's working directory when inside it, else absolute. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** The autonomy the policy grants a fault class. */
export function autonomyFor(policy: Policy, faultClass: FaultClass): AutonomyLevel {
  return policy.autonomy[faultClass];
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const WEEKDAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

const clockMs = (clock: string) => {
  const [hours = 0, minutes = 0] = clock.split(':').map(Number);
  return (hours * 60 + minutes) * 60_000;
};

/** True when `now` falls in the window: start inclusive, end exclusive. */
function inWindow(window: FreezeWindow, now: Date): boolean {
  const at = now.getTime();
  if ('from' in window) return at >= Date.parse(window.from) && at < Date.parse(window.to);
  const msOfWeek =
    now.getUTCDay() * DAY_MS +
    ((now.getUTCHours() * 60 + now.getUTCMinutes()) * 60 + now.getUTCSeconds()) * 1000 +
    now.getUTCMilliseconds();
  const start = clockMs(window.start);
  let end = clockMs(window.end);
  if (end <= start) end += DAY_MS;
  return window.weekdays.some((day) => {
    const from = day * DAY_MS + start;
    const to = day * DAY_MS + end;
    // A Saturday window past midnight ends on Sunday, at the start of the week.
    return (
      (msOfWeek >= from && msOfWeek < to) || (msOfWeek + WEEK_MS >= from && msOfWeek + WEEK_MS < to)
    );
  });
}

function describeWindow(window: FreezeWindow): string {
  if (window.reason) return window.reason;
  if ('from' in window) return `freeze window ${window.from} to ${window.to}`;
  const days = window.weekdays.map((day) => WEEKDAY_NAMES[day] ?? String(day)).join(',');
  return `weekly freeze window ${days} ${window.start}-${window.end} UTC`;
}

/**
 * Whether a freeze window covers `now`, and then which (its `reason`, or a description of it).
 * Windows start inclusive and end exclusive; weekly windows are in UTC.
 *
 * @example
 * ```ts
 * const policy = parsePolicy(
 *   { freeze_windows: [{ weekdays: [5], start: '16:00', end: '24:00', reason: 'Friday' }] },
 *   'inline',
 * );
 * freezeAt(policy, new Date('2025-02-14T17:00:00Z')); // { frozen: true, reason: 'Friday' }
 * ```
 */
export function freezeAt(
  policy: Policy,
  now: Date,
): { frozen: false } | { frozen: true; reason: string } {
  const window = policy.freeze_windows.find((candidate) => inWindow(candidate, now));
  return window ? { frozen: true, reason: describeWindow(window) } : { frozen: false };
}
