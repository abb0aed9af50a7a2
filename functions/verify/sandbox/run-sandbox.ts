import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { VerificationCheckSchema } from '../../../events/healing.js';
import { loadEsbuild } from '../../runtime/esbuild.js';
import { sha256 } from '../../target/releases.js';
import {
  SANDBOX_CHECKS,
  SANDBOX_FILES,
  SANDBOX_GO,
  SANDBOX_READY,
  SANDBOX_WARM_UP_MODULE,
  type SandboxErrorReason,
  type SandboxFixtures,
  type SandboxInput,
  type SandboxResult,
} from './types.js';

export type {
  SandboxErrorReason,
  SandboxInput,
  SandboxResult,
  VerificationCheck,
} from './types.js';

/**
 * The parent side of the verification sandbox: builds the harness bundle once, and runs each
 * verification in a fresh Node child under the permission model, with a time and heap limit,
 * reading back one result line.
 */

/** A built sandbox harness: the bundle file and the SHA-256 of its text. */
export interface SandboxHarness {
  readonly file: string;
  readonly hash: string;
}

export interface BuildSandboxHarnessOptions {
  /** Repository root the target's sandbox module is relative to. */
  readonly repoRoot: string;
  /** The target's sandbox module (the manifest's `sandbox`): a file and its `SandboxTarget` export. */
  readonly module: { readonly file: string; readonly export: string };
  /** Where harness bundles are written, named by hash. */
  readonly dir: string;
}

export interface RunSandboxOptions {
  /** The harness bundle to run (from {@link buildSandboxHarness}). */
  readonly harness: { readonly file: string };
  /** Where run directories are created (and removed again). */
  readonly dir: string;
  /** The child is killed after this long and the run ends as `timeout` (default 10 000). */
  readonly timeoutMs?: number;
  /** V8 old-space limit of the child in MiB (default 128). */
  readonly maxOldSpaceMb?: number;
}

/** How much of the child's stdout is read; output past it ends the run as `bad-output`. */
const MAX_STDOUT_BYTES = 1024 * 1024;
/** How much of the child's stderr is kept, from its start and from its end. */
const MAX_STDERR_CHARS = 32 * 1024;

const harnessBuilds = new Map<string, Promise<SandboxHarness>>();

/**
 * Bundles the sandbox harness with the target's sandbox module into one self-contained ESM file
 * (Node 20, every dependency inlined), written once to `<dir>/harness-<sha256>.mjs` (temp file
 * and rename; an intact copy is kept). Memoised per repository, module and directory for the life
 * of the process, so only the first call pays for esbuild.
 *
 * @throws when esbuild cannot bundle the entry (the memo is dropped, so a later call retries)
 * @example
 * ```ts
 * const harness = await buildSandboxHarness({
 *   repoRoot: SHOP_REPO_ROOT,
 *   module: shopTarget.sandbox,
 *   dir: '.data/sandbox',
 * });
 * ```
 */
export function buildSandboxHarness(options: BuildSandboxHarnessOptions): Promise<SandboxHarness> {
  const repoRoot = path.resolve(options.repoRoot);
  const dir = path.resolve(options.dir);
  const key = JSON.stringify([repoRoot, options.module.file, options.module.export, dir]);
  let pending = harnessBuilds.get(key);
  if (!pending) {
    pending = writeHarness(repoRoot, options.module, dir);
    harnessBuilds.set(key, pending);
    pending.catch(() => harnessBuilds.delete(key));
  }
  return pending;
}

async function writeHarness(
  repoRoot: string,
  module: BuildSandboxHarnessOptions['module'],
  dir: string,
): Promise<SandboxHarness> {
  if (!/^[A-Za-z_$][\w$]*$/.test(module.export)) {
    throw new Error(`sandbox module export is not an identifier: ${module.export}`);
  }
  const entry = [
    `import { runHarness } from ${JSON.stringify(harnessSource())};`,
    `import { ${module.export} as target } from ${JSON.stringify(path.resolve(repoRoot, module.file))};`,
    'await runHarness(target);',
  ].join('\n');
  const { build } = await loadEsbuild();
  const result = await build({
    stdin: { contents: entry, loader: 'js', resolveDir: repoRoot, sourcefile: 'sandbox-entry.js' },
    absWorkingDir: repoRoot,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  const text = result.outputFiles[0]?.text ?? '';
  const hash = sha256(text);

  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `harness-${hash}.mjs`);
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing === undefined || sha256(existing) !== hash) {
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, text);
    await rename(temp, file);
  }
  // The child's read permission is granted on this exact path, so symlinks are resolved first.
  return { file: await realpath(file), hash };
}

/** The harness module beside this one: TypeScript in the source tree, JavaScript once compiled. */
function harnessSource(): string {
  const source = fileURLToPath(new URL('./harness.ts', import.meta.url));
  return existsSync(source) ? source : fileURLToPath(new URL('./harness.js', import.meta.url));
}

/** What a warm child is started for: children of one spec are interchangeable. */
export interface WarmSandboxOptions {
  /** The harness bundle the child loads (from {@link buildSandboxHarness}). */
  readonly harness: { readonly file: string };
  /** Where the child's run directory is created (and removed again). */
  readonly dir: string;
  /** V8 old-space limit of the child in MiB (default 128). */
  readonly maxOldSpaceMb?: number;
}

/**
 * Starts the warm pool for a harness, directory and heap limit, if it is not full yet: one child
 * that has started Node under the permission model, loaded the harness and locked itself down,
 * and waits (without a time limit) for a run to hand it its files. Resolves once that child is
 * ready, or has died trying (then a run starts a child of its own). Call it at start-up, after
 * {@link buildSandboxHarness}; {@link runSandbox} fills the pool itself when nobody did.
 *
 * An idle child does not keep the process alive, and is killed, its run directory removed, by
 * {@link closeSandboxPool} or when the process exits.
 *
 * @throws file system errors creating the run directory; an unreadable harness file
 * @example
 * ```ts
 * const harness = await buildSandboxHarness({ repoRoot, module: shopTarget.sandbox, dir });
 * await warmSandbox({ harness, dir });
 * ```
 */
export async function warmSandbox(options: WarmSandboxOptions): Promise<void> {
  const spec = await childSpec(options);
  // The idle children are unreferenced: while someone waits for them, keep the process alive.
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    const children = await Promise.all(fillPool(spec));
    await Promise.all(children.map((child) => child.ready));
  } finally {
    clearInterval(keepAlive);
  }
}

/**
 * Kills every idle child of the warm pool and removes its run directory; resolves once they are
 * gone. Runs in progress are not touched. A later {@link runSandbox} or {@link warmSandbox}
 * starts a new pool.
 */
export async function closeSandboxPool(): Promise<void> {
  for (const timer of refills.values()) clearTimeout(timer);
  refills.clear();
  const pending = [...pools.values()].flat();
  pools.clear();
  const children = await Promise.all(pending.map((child) => child.catch(() => undefined)));
  await Promise.all(children.map((child) => child?.discard()));
}

/**
 * Verifies a candidate release in a sandboxed child process.
 *
 * The child is `process.execPath` under the permission model, allowed to read only the harness
 * file and its run directory (a fresh one under `options.dir`; no writes, child processes,
 * workers, addons or code from strings), with a heap limit, an environment holding nothing but
 * `NODE_ENV`, and a network the harness closes before candidate code loads. Normally it is the
 * warm pool's pre-spawned child (see {@link warmSandbox}), which has already loaded the harness;
 * the pool is refilled in the background a little after the run. A child runs exactly one
 * verification. When the pool has none alive, the run starts a child of its own.
 *
 * The bundles and fixtures are written into the child's run directory, then a random nonce and
 * the go are sent on stdin; the time limit runs from the go. The nonce marks the one stdout line
 * the harness writes, so candidate code cannot forge a result by printing one.
 *
 * Never throws for what the child does: a timeout (the child is SIGKILLed), a crash, running out
 * of heap, a permission denial or unreadable output is an `error` with `checks` empty; a
 * forbidden operation the candidate attempted inside a check is reported as `denied` alongside
 * the checks. The run directory is removed in every case.
 *
 * @throws {RangeError} when `input.now` is not a date; file system errors setting up the run
 *
 * @example
 * ```ts
 * const result = await runSandbox(
 *   { exportName: 'toProductRecord', candidate, live, items, affected, sample, captured,
 *     allowedFields: ['return_policy'], now: new Date().toISOString() },
 *   { harness, dir: '.data/sandbox' },
 * );
 * if (!result.ok) console.log(result.error ?? result.checks);
 * ```
 */
export async function runSandbox(
  input: SandboxInput,
  options: RunSandboxOptions,
): Promise<SandboxResult> {
  const started = performance.now();
  if (Number.isNaN(Date.parse(input.now))) {
    throw new RangeError(`runSandbox: now is not an ISO date: ${input.now}`);
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  const spec = await childSpec(options);
  const fixtures: SandboxFixtures = {
    exportName: input.exportName,
    candidateId: input.candidate.id,
    liveId: input.live.id,
    items: input.items,
    affected: input.affected,
    ...(input.probed ? { probed: input.probed } : {}),
    sample: input.sample,
    captured: input.captured,
    allowedFields: input.allowedFields,
    now: input.now,
  };
  const files: ReadonlyArray<readonly [string, string]> = [
    [SANDBOX_FILES.candidate, input.candidate.bundle],
    [SANDBOX_FILES.live, input.live.bundle],
    [SANDBOX_FILES.fixtures, JSON.stringify(fixtures)],
  ];
  const write = (child: SandboxChild) =>
    Promise.all(files.map(([name, text]) => writeFile(path.join(child.runDir, name), text)));

  let child = await takeFromPool(spec);
  let warm = child !== undefined;
  let verdict: Omit<SandboxResult, 'duration_ms' | 'warm'>;
  try {
    if (child) await write(child);
    // Died in the pool, or while its files were written: this run starts a child of its own.
    if (!child?.alive()) {
      await child?.dispose();
      warm = false;
      child = await SandboxChild.spawn(spec);
      await write(child);
    }
    const nonce = randomBytes(16).toString('hex');
    const outcome = await child.run(nonce, timeoutMs);
    verdict = interpret(outcome, nonce, timeoutMs);
  } finally {
    await child?.dispose();
    refillLater(spec);
  }
  return { ...verdict, warm, duration_ms: Math.round((performance.now() - started) * 100) / 100 };
}

/**
 * How many idle children the pool keeps per spec. Two, so the second of two verifications in a
 * row (two faults in one push) also finds a started child instead of waiting for Node to boot.
 */
export const SANDBOX_POOL_SIZE = 2;

/**
 * What a child is started with; `key` names its pool. The harness file has its symlinks resolved
 * (the read permission is granted on that exact path), the directory is absolute.
 */
interface ChildSpec {
  readonly harnessFile: string;
  readonly dir: string;
  readonly maxOldSpaceMb: number;
  readonly key: string;
}

async function childSpec(options: WarmSandboxOptions): Promise<ChildSpec> {
  const harnessFile = await realpath(options.harness.file);
  const dir = path.resolve(options.dir);
  const maxOldSpaceMb = options.maxOldSpaceMb ?? 128;
  return {
    harnessFile,
    dir,
    maxOldSpaceMb,
    key: JSON.stringify([harnessFile, dir, maxOldSpaceMb]),
  };
}

/** Idle children by spec key, oldest first; a spawn still in progress is a pending entry. */
const pools = new Map<string, Promise<SandboxChild>[]>();

/** Spawns children in the background until the spec's pool is full; returns its entries. */
function fillPool(spec: ChildSpec): Promise<SandboxChild>[] {
  let pool = pools.get(spec.key);
  if (!pool) {
    pool = [];
    pools.set(spec.key, pool);
  }
  while (pool.length < SANDBOX_POOL_SIZE) {
    const pending = SandboxChild.spawn(spec);
    pool.push(pending);
    // A child that fails to spawn, or dies while idle, leaves the pool by itself; it is replaced
    // by the next run or warm-up, not at once (a child that crashes at start would crash again).
    const leave = () => {
      const entries = pools.get(spec.key);
      const index = entries?.indexOf(pending) ?? -1;
      if (index >= 0) entries?.splice(index, 1);
    };
    pending.then((child) => child.closed, leave).then(leave);
  }
  return [...pool];
}

/**
 * How long after a run its pool is refilled. Starting Node and loading the harness costs a core
 * for about 100 ms; started when a child is taken, it would compete with the very verification
 * that took it and with the heal that follows. The pool holds two, so the second of two
 * verifications in a row still finds one waiting.
 */
export const SANDBOX_REFILL_DELAY_MS = 300;

/** Refills scheduled by spec key (one at a time per pool). */
const refills = new Map<string, NodeJS.Timeout>();

/** Fills the spec's pool {@link SANDBOX_REFILL_DELAY_MS} from now, unless that is already due. */
function refillLater(spec: ChildSpec): void {
  if (refills.has(spec.key)) return;
  const timer = setTimeout(() => {
    refills.delete(spec.key);
    fillPool(spec);
  }, SANDBOX_REFILL_DELAY_MS);
  timer.unref();
  refills.set(spec.key, timer);
}

/**
 * Takes the oldest pooled child of the spec, if it is still alive; the run refills the pool when
 * it ends ({@link refillLater}). The child is claimed: the caller disposes of it.
 */
async function takeFromPool(spec: ChildSpec): Promise<SandboxChild | undefined> {
  const pending = pools.get(spec.key)?.shift();
  const child = await pending?.catch(() => undefined);
  if (!child?.claim()) return undefined;
  return child;
}

interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stdoutOverflow: boolean;
  readonly stderr: string;
  readonly spawnError?: Error;
}

/** The permission flag of this Node: experimental up to 22, stable from 23. */
const permissionFlag =
  Number(process.versions.node.split('.')[0]) >= 23 ? '--permission' : '--experimental-permission';

/** Children not closed yet: killed, their run directories removed, when the process exits. */
const openChildren = new Set<SandboxChild>();
let exitHookInstalled = false;

function killOpenChildren(): void {
  for (const child of openChildren) child.killNow();
}

/**
 * One harness child and its run directory, from spawn to exit. It starts unreferenced (an idle
 * child does not keep the parent alive) and waits for {@link SandboxChild.run}, which hands it
 * the nonce and the go and starts the time limit. Whoever {@link SandboxChild.claim}s it must
 * {@link SandboxChild.dispose} of it; an unclaimed child that dies removes its own run directory.
 */
class SandboxChild {
  /** Resolves `true` on the harness's ready line, `false` when the child ends before it. */
  readonly ready: Promise<boolean>;
  /** Resolves with what the child did once it has exited and its output is read. */
  readonly closed: Promise<ChildOutcome>;
  #settleReady: (ready: boolean) => void = () => {};
  #settleClosed: (outcome: ChildOutcome) => void = () => {};
  #exited = false;
  #claimed = false;
  #removal: Promise<void> | undefined;
  #running = false;
  #timedOut = false;
  #timer: NodeJS.Timeout | undefined;
  #startup = '';
  readonly #stdout: Buffer[] = [];
  #stdoutBytes = 0;
  #stdoutOverflow = false;
  #stderrHead = '';
  #stderrTail = '';

  private constructor(
    readonly runDir: string,
    readonly child: ChildProcess,
  ) {
    this.ready = new Promise((resolve) => {
      this.#settleReady = resolve;
    });
    this.closed = new Promise((resolve) => {
      this.#settleClosed = resolve;
    });
    openChildren.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', killOpenChildren);
    }
    setReferenced(child, false);
    child.stdout?.on('data', (chunk: Buffer) => this.#onStdout(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.#onStderr(chunk));
    // The child may be gone before it reads its stdin.
    child.stdin?.on('error', () => {});
    child.on('error', (error) => {
      child.kill('SIGKILL');
      this.#finish(null, null, error);
    });
    child.on('close', (code, signal) => this.#finish(code, signal));
  }

  /** Creates a fresh run directory under the spec's `dir` and starts a child allowed to read it. */
  static async spawn(spec: ChildSpec): Promise<SandboxChild> {
    await mkdir(spec.dir, { recursive: true });
    const runDir = await realpath(await mkdtemp(path.join(spec.dir, 'run-')));
    const args = [
      permissionFlag,
      // One flag per path: Node 20 does not split a comma-separated list.
      `--allow-fs-read=${spec.harnessFile}`,
      `--allow-fs-read=${runDir}${path.sep}`,
      '--disallow-code-generation-from-strings',
      // Candidate code shares the process with the harness: it must not patch the builtins.
      '--frozen-intrinsics',
      `--max-old-space-size=${spec.maxOldSpaceMb}`,
      '--no-warnings',
      spec.harnessFile,
      runDir,
    ];
    const env: Record<string, string> = { NODE_ENV: process.env.NODE_ENV ?? 'production' };
    try {
      await writeFile(path.join(runDir, SANDBOX_FILES.warmUp), SANDBOX_WARM_UP_MODULE);
      const child = spawn(process.execPath, args, {
        cwd: runDir,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
      return new SandboxChild(runDir, child);
    } catch (error) {
      await rm(runDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Whether the child is still running (or still starting). */
  alive(): boolean {
    return !this.#exited && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Takes the child for one run; false when it is dead or already taken. */
  claim(): boolean {
    if (this.#claimed || !this.alive()) return false;
    this.#claimed = true;
    return true;
  }

  /**
   * Sends the nonce and the go, starts the time limit, and resolves with what the child did.
   * Only what it writes to stdout from here on is its output.
   */
  run(nonce: string, timeoutMs: number): Promise<ChildOutcome> {
    if (this.#running) throw new Error('a sandbox child runs only once');
    this.#running = true;
    setReferenced(this.child, true);
    this.#settleReady(false);
    if (this.alive()) {
      this.#timer = setTimeout(() => {
        this.#timedOut = true;
        this.child.kill('SIGKILL');
      }, timeoutMs);
      this.child.stdin?.end(`${nonce}\n${SANDBOX_GO}\n`);
    }
    return this.closed;
  }

  /** Kills the child unless it has exited, waits for it, and removes its run directory. */
  async dispose(): Promise<void> {
    // Referenced again, so the process waits for the child it is ending.
    if (!this.#exited) setReferenced(this.child, true);
    if (this.alive()) this.child.kill('SIGKILL');
    await this.closed;
    await (this.#removal ?? rm(this.runDir, { recursive: true, force: true }));
  }

  /** For the pool: disposes of the child unless a run has claimed it (the run disposes then). */
  async discard(): Promise<void> {
    if (this.#claimed) return;
    this.#claimed = true;
    await this.dispose();
  }

  /** For the process's exit: kills the child and removes its run directory, synchronously. */
  killNow(): void {
    try {
      if (this.alive()) this.child.kill('SIGKILL');
      rmSync(this.runDir, { recursive: true, force: true });
    } catch {}
  }

  #onStdout(chunk: Buffer): void {
    if (!this.#running) {
      // Before the go only the harness has run: all it writes is the ready line.
      this.#startup = (this.#startup + chunk.toString('utf8')).slice(-1024);
      if (this.#startup.includes(`${SANDBOX_READY}\n`)) this.#settleReady(true);
      return;
    }
    if (this.#stdoutOverflow) return;
    this.#stdoutBytes += chunk.length;
    if (this.#stdoutBytes > MAX_STDOUT_BYTES) {
      // The result line comes last, so it can no longer be read: stop the child now.
      this.#stdoutOverflow = true;
      this.child.kill('SIGKILL');
      return;
    }
    this.#stdout.push(chunk);
  }

  #onStderr(chunk: string): void {
    if (this.#stderrHead.length < MAX_STDERR_CHARS) {
      const room = MAX_STDERR_CHARS - this.#stderrHead.length;
      this.#stderrHead += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    if (chunk !== '') this.#stderrTail = (this.#stderrTail + chunk).slice(-MAX_STDERR_CHARS);
  }

  #finish(code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void {
    if (this.#exited) return;
    this.#exited = true;
    clearTimeout(this.#timer);
    openChildren.delete(this);
    this.#settleReady(false);
    // Nobody will dispose of a child that died in the pool: it removes its own run directory.
    if (!this.#claimed) {
      this.#removal = rm(this.runDir, { recursive: true, force: true }).catch(() => {});
    }
    const stderr =
      this.#stderrTail === '' ? this.#stderrHead : `${this.#stderrHead}\n…\n${this.#stderrTail}`;
    this.#settleClosed({
      code,
      signal,
      timedOut: this.#timedOut,
      stdout: Buffer.concat(this.#stdout).toString('utf8'),
      stdoutOverflow: this.#stdoutOverflow,
      stderr,
      ...(spawnError ? { spawnError } : {}),
    });
  }
}

/** Refs or unrefs a child and its pipes: an idle child must not keep the event loop alive. */
function setReferenced(child: ChildProcess, referenced: boolean): void {
  if (referenced) child.ref();
  else child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    const socket = stream as unknown as Partial<Pick<Socket, 'ref' | 'unref'>> | null;
    if (referenced) socket?.ref?.();
    else socket?.unref?.();
  }
}

const memoryPattern = /heap out of memory|Reached heap limit|Fatal JavaScript out of memory/i;
const deniedPattern =
  /ERR_ACCESS_DENIED|ERR_DLOPEN_DISABLED|Code generation from strings disallowed/;

function interpret(
  outcome: ChildOutcome,
  nonce: string,
  timeoutMs: number,
): Omit<SandboxResult, 'duration_ms' | 'warm'> {
  const failed = (reason: SandboxErrorReason, message: string) => ({
    ok: false,
    checks: [],
    error: { reason, message },
  });
  if (outcome.spawnError) {
    return failed('crashed', `the sandbox did not start: ${outcome.spawnError.message}`);
  }
  if (outcome.timedOut) return failed('timeout', `no result within ${timeoutMs} ms; killed`);
  if (outcome.stdoutOverflow) {
    return failed('bad-output', `more than ${MAX_STDOUT_BYTES} bytes on stdout; killed`);
  }
  if (outcome.code !== 0 || outcome.signal !== null) {
    const exit = outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.code}`;
    const message = `${stderrSummary(outcome.stderr) ?? 'nothing on stderr'} (${exit})`;
    if (memoryPattern.test(outcome.stderr)) return failed('memory', message);
    if (deniedPattern.test(outcome.stderr)) return failed('denied', message);
    return failed('crashed', message);
  }

  const line = outcome.stdout.split('\n').find((candidate) => candidate.includes(nonce));
  if (line === undefined) {
    return failed('bad-output', 'the harness wrote no result (the process ended before it)');
  }
  let report: z.infer<typeof ReportSchema>;
  try {
    report = ReportSchema.parse(JSON.parse(line));
  } catch (error) {
    const message = error instanceof Error ? error.message.slice(0, 200) : String(error);
    return failed('bad-output', `unreadable result: ${message}`);
  }
  if (report.nonce !== nonce) return failed('bad-output', 'result carries the wrong nonce');
  const names = report.checks.map((check) => check.name);
  if (names.length !== SANDBOX_CHECKS.length || SANDBOX_CHECKS.some((n) => !names.includes(n))) {
    return failed('bad-output', `result has checks ${names.join(', ')}`);
  }

  const checks = report.checks;
  const ok = report.ok && checks.every((check) => check.ok);
  const denial = checks
    .flatMap((check) => check.first_failures)
    .find((failure) => deniedPattern.test(failure));
  return { ok, checks, ...(denial ? { error: { reason: 'denied', message: denial } } : {}) };
}

const ReportSchema = z.object({
  nonce: z.string(),
  ok: z.boolean(),
  checks: z.array(VerificationCheckSchema),
});

/**
 * The line of stderr that says what went wrong: a fatal or error line, with the code, permission
 * and resource lines Node prints for a denial; otherwise the first line that is neither a location
 * nor the source excerpt under one.
 */
function stderrSummary(stderr: string): string | undefined {
  const location = /^(file|node):\S*:\d+$/;
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line, index, all) => {
      if (line === '' || line === '^' || line.startsWith('at ') || location.test(line))
        return false;
      return !location.test(all[index - 1] ?? '') && !line.startsWith('Node.js v');
    });
  const details = [...new Set(lines.filter((line) => /^(code|permission|resource):/.test(line)))];
  const headline =
    lines.find((line) => /FATAL ERROR|out of memory/i.test(line)) ??
    lines.find((line) => /^(Uncaught\b|\w*Error\b)/.test(line)) ??
    (details.length > 0 ? undefined : lines[0]);
  const parts = headline === undefined ? details : [headline, ...details];
  return parts.length > 0 ? parts.join(' ').slice(0, 500) : undefined;
}
