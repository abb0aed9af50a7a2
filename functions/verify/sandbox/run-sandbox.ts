import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { z } from 'zod';
import { VerificationCheckSchema } from '../../../events/healing.js';
import { sha256 } from '../../target/releases.js';
import {
  SANDBOX_CHECKS,
  SANDBOX_FILES,
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

/**
 * Verifies a candidate release in a sandboxed child process.
 *
 * The bundles and fixtures go into a fresh run directory under `options.dir`; the child is
 * `process.execPath` under the permission model, allowed to read only the harness file and the
 * run directory (no writes, child processes, workers, addons or code from strings), with a heap
 * limit, an environment holding nothing but `NODE_ENV`, and a network the harness closes before
 * candidate code loads. A random nonce, sent on stdin, marks the one stdout line the harness
 * writes, so candidate code cannot forge a result by printing one.
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
  const maxOldSpaceMb = options.maxOldSpaceMb ?? 128;
  await mkdir(options.dir, { recursive: true });
  const runDir = await realpath(await mkdtemp(path.join(options.dir, 'run-')));
  let verdict: Omit<SandboxResult, 'duration_ms'>;
  try {
    const fixtures: SandboxFixtures = {
      exportName: input.exportName,
      candidateId: input.candidate.id,
      liveId: input.live.id,
      items: input.items,
      affected: input.affected,
      sample: input.sample,
      captured: input.captured,
      allowedFields: input.allowedFields,
      now: input.now,
    };
    await Promise.all([
      writeFile(path.join(runDir, SANDBOX_FILES.candidate), input.candidate.bundle),
      writeFile(path.join(runDir, SANDBOX_FILES.live), input.live.bundle),
      writeFile(path.join(runDir, SANDBOX_FILES.fixtures), JSON.stringify(fixtures)),
    ]);
    const harnessFile = await realpath(options.harness.file);
    const nonce = randomBytes(16).toString('hex');
    const outcome = await runChild({ harnessFile, runDir, nonce, timeoutMs, maxOldSpaceMb });
    verdict = interpret(outcome, nonce, timeoutMs);
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
  return { ...verdict, duration_ms: Math.round((performance.now() - started) * 100) / 100 };
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

function runChild(options: {
  harnessFile: string;
  runDir: string;
  nonce: string;
  timeoutMs: number;
  maxOldSpaceMb: number;
}): Promise<ChildOutcome> {
  const { harnessFile, runDir } = options;
  const args = [
    permissionFlag,
    // One flag per path: Node 20 does not split a comma-separated list.
    `--allow-fs-read=${harnessFile}`,
    `--allow-fs-read=${runDir}${path.sep}`,
    '--disallow-code-generation-from-strings',
    // Candidate code shares the process with the harness: it must not patch the builtins.
    '--frozen-intrinsics',
    `--max-old-space-size=${options.maxOldSpaceMb}`,
    '--no-warnings',
    harnessFile,
    runDir,
  ];
  const env: Record<string, string> = { NODE_ENV: process.env.NODE_ENV ?? 'production' };

  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stdoutOverflow = false;
    let stderrHead = '';
    let stderrTail = '';
    let timedOut = false;
    let settled = false;

    const child = spawn(process.execPath, args, {
      cwd: runDir,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);

    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stdoutOverflow,
        stderr: stderrTail === '' ? stderrHead : `${stderrHead}\n…\n${stderrTail}`,
        ...(spawnError ? { spawnError } : {}),
      });
    };

    child.stdout.on('data', (chunk: Buffer) => {
      if (stdoutOverflow) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT_BYTES) {
        // The result line comes last, so it can no longer be read: stop the child now.
        stdoutOverflow = true;
        child.kill('SIGKILL');
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderrHead.length < MAX_STDERR_CHARS) {
        const room = MAX_STDERR_CHARS - stderrHead.length;
        stderrHead += chunk.slice(0, room);
        chunk = chunk.slice(room);
      }
      if (chunk !== '') stderrTail = (stderrTail + chunk).slice(-MAX_STDERR_CHARS);
    });
    // The child may be gone before it reads its stdin.
    child.stdin.on('error', () => {});
    child.stdin.end(`${options.nonce}\n`);
    child.on('error', (error) => {
      child.kill('SIGKILL');
      finish(null, null, error);
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

const memoryPattern = /heap out of memory|Reached heap limit|Fatal JavaScript out of memory/i;
const deniedPattern =
  /ERR_ACCESS_DENIED|ERR_DLOPEN_DISABLED|Code generation from strings disallowed/;

function interpret(
  outcome: ChildOutcome,
  nonce: string,
  timeoutMs: number,
): Omit<SandboxResult, 'duration_ms'> {
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
