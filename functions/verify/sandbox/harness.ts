import dgram from 'node:dgram';
import dns from 'node:dns';
import { readFileSync, readSync, writeSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import type { z } from 'zod';
import type {
  LoadedMapper,
  ResponseContractExpectation,
  ResponsePredicate,
  SandboxTarget,
  TargetRequest,
  TargetResponse,
} from '../../target/define-target.js';
import {
  SANDBOX_CHECKS,
  SANDBOX_FILES,
  SANDBOX_GO,
  SANDBOX_READY,
  type SandboxFixtures,
  type SandboxReport,
  type VerificationCheck,
} from './types.js';

/**
 * The child side of the verification sandbox. It runs in its own Node process under the
 * permission model (reads limited to the harness file and the run directory; no writes, child
 * processes, workers, native addons or code generation from strings), which the parent sets up.
 *
 * The permission model of Node 20 leaves the network open, so the harness closes it itself
 * before any candidate code is imported, together with a few process APIs the model does not
 * cover either (signals to other processes, heap snapshots, V8 flags).
 */

/** How many failure messages a check keeps. */
const MAX_FAILURES = 5;
/** How long one failure message may be. */
const MAX_MESSAGE = 400;

// Captured while only trusted code has run: candidate code may replace the originals later.
// For the same reason the result goes out through `fs.writeSync` on fd 1, not `process.stdout`,
// whose methods any code in the process can patch.
const exitProcess = process.exit.bind(process);
const { stringify, parse } = JSON;
const now = performance.now.bind(performance);

/**
 * Runs one verification inside the sandbox child. First everything that does not depend on the
 * run: closes the network, pins the globals, warms the target's code up, then writes the
 * {@link SANDBOX_READY} line to stdout and blocks on stdin, which may take as long as the parent
 * likes (a pre-spawned child waits there, with no timer of its own). Then the run: reads the
 * nonce and the go from stdin and the fixtures from the run directory (`process.argv[2]`), loads
 * the candidate and live bundles, runs the replay, smoke and differential checks against
 * `target`, writes one JSON line `{ nonce, ok, checks }` to stdout and exits 0. When stdin ends
 * without a go (the parent closed its pool or went away), it exits 0 without running anything.
 *
 * Errors thrown by candidate code are check failures; anything else that goes wrong is thrown,
 * so the process dies with the error on stderr and a non-zero exit. A hang stays a hang: the
 * parent's timeout ends it.
 *
 * @example
 * ```ts
 * // the entry the parent bundles
 * import { runHarness } from './functions/verify/sandbox/harness.ts';
 * import { shopSandbox } from './functions/shop/sandbox.ts';
 * await runHarness(shopSandbox);
 * ```
 */
export async function runHarness(target: SandboxTarget): Promise<void> {
  // Node prints an uncaught error as `{}` under --frozen-intrinsics: say what it was instead.
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  closeNetwork();
  pinGlobals();
  const runDir = process.argv[2];
  if (!runDir) throw new Error('usage: harness <run dir>');
  await warmUp(target, runDir);
  writeAll(1, `${SANDBOX_READY}\n`);

  // Nothing of the run exists before this line returns: the parent writes the run's files first.
  const [nonce = '', go] = readAll(0).split('\n');
  if (go !== SANDBOX_GO || nonce === '') exitProcess(0);
  const fixtures = parse(
    readFileSync(path.join(runDir, SANDBOX_FILES.fixtures), 'utf8'),
  ) as SandboxFixtures;

  const checks = await verify(target, fixtures, runDir);
  const report: SandboxReport = { nonce, ok: checks.every((check) => check.ok), checks };
  // The leading newline ends whatever partial line candidate code may have printed.
  writeAll(1, `\n${stringify(report)}\n`);
  exitProcess(0);
}

/** Reports an uncaught error on stderr (`Uncaught <code or name>: <message>`, then the stack). */
function crash(error: unknown): void {
  let stack = '';
  try {
    stack = error instanceof Error ? String(error.stack ?? '') : '';
  } catch {}
  writeAll(2, `Uncaught ${describeError(error)}\n${stack}\n`);
  exitProcess(1);
}

/**
 * Reads a file descriptor to its end. The child's stdin is a blocking pipe, so this sleeps in
 * `read` until the parent writes and closes it; should it be non-blocking, an empty pipe is
 * waited out in short sleeps instead.
 */
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(4096);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let read: number;
    try {
      read = readSync(fd, buffer, 0, buffer.length, null);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'EOF') break;
      if (code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 5);
      continue;
    }
    if (read === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, read)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes all of `text` to a file descriptor, waiting out a full pipe. */
function writeAll(fd: number, text: string): void {
  let rest = Buffer.from(text, 'utf8');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/**
 * Pins every global binding (non-writable, non-configurable), resolving Node's lazy ones first,
 * so candidate code cannot swap `JSON`, `Response` or `Map` under the harness and the served API.
 * The intrinsics themselves (`Array.prototype`, …) are frozen by `--frozen-intrinsics`.
 */
function pinGlobals(): void {
  for (const key of Reflect.ownKeys(globalThis)) {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, key);
    if (!descriptor?.configurable) continue;
    let value: unknown;
    try {
      value = (globalThis as Record<PropertyKey, unknown>)[key];
    } catch {
      continue;
    }
    Object.defineProperty(globalThis, key, {
      value,
      writable: false,
      configurable: false,
      enumerable: descriptor.enumerable ?? false,
    });
  }
}

/**
 * Replaces every way out to the network with a function that throws `ERR_ACCESS_DENIED`, and
 * pins the replacements (non-writable, non-configurable). Named imports of the built-ins are
 * re-synced, so `import { request } from 'node:http'` in a candidate sees the replacement too.
 */
function closeNetwork(): void {
  lock(net.Server.prototype, 'listen', 'net.Server.listen');
  lock(net.Server.prototype, '_listen2', 'net.Server.listen');
  lock(net.Socket.prototype, 'connect', 'net.Socket.connect');
  lock(dgram.Socket.prototype, 'bind', 'dgram.Socket.bind');
  lock(dgram.Socket.prototype, 'send', 'dgram.Socket.send');
  lock(dgram.Socket.prototype, 'connect', 'dgram.Socket.connect');
  lock(globalThis, 'fetch', 'fetch');
  lock(globalThis, 'WebSocket', 'WebSocket');
  lock(globalThis, 'EventSource', 'EventSource');
  for (const [name, module] of [
    ['http', http],
    ['https', https],
  ] as const) {
    lock(module, 'request', `${name}.request`);
    lock(module, 'get', `${name}.get`);
  }
  // DNS queries leave the process too (c-ares sends them itself, not through dgram).
  const resolverMethod = /^(lookup|lookupService|reverse|resolve\w*)$/;
  for (const owner of [
    dns,
    dns.Resolver.prototype,
    dns.promises,
    dns.promises.Resolver.prototype,
  ]) {
    for (const key of Object.getOwnPropertyNames(owner)) {
      if (resolverMethod.test(key)) lock(owner, key, `dns.${key}`);
    }
  }
  // Not network, but not covered by the permission model either.
  lock(process, 'kill', 'process.kill', 'access');
  lock(process, '_debugProcess', 'process._debugProcess', 'access');
  lock(v8, 'getHeapSnapshot', 'v8.getHeapSnapshot', 'access');
  lock(v8, 'writeHeapSnapshot', 'v8.writeHeapSnapshot', 'access');
  lock(v8, 'setFlagsFromString', 'v8.setFlagsFromString', 'access');
  syncBuiltinESMExports();
}

function lock(owner: object, key: string, what: string, kind: 'network' | 'access' = 'network') {
  const descriptor = Object.getOwnPropertyDescriptor(owner, key);
  if (!descriptor) return;
  const message = `sandbox: ${kind === 'network' ? 'network access' : 'access'} denied (${what})`;
  Object.defineProperty(owner, key, {
    value: function denied(): never {
      throw Object.assign(new Error(message), {
        code: 'ERR_ACCESS_DENIED',
      });
    },
    writable: false,
    configurable: false,
    enumerable: descriptor.enumerable ?? false,
  });
}

/**
 * Does once, before the run exists, the work every run starts with and that does not depend on
 * the candidate, so the run pays for its own data only: imports the run directory's warm-up
 * module (the loader's path for a file import), runs the target's own code on no records (its
 * module-level caches fill, its served API, contracts and probes compile) and lets the event loop
 * settle. Failures are ignored: the run meets them again and reports them.
 */
async function warmUp(target: SandboxTarget, runDir: string): Promise<void> {
  try {
    await import(pathToFileURL(path.join(runDir, SANDBOX_FILES.warmUp)).href);
  } catch {}
  const { probes, recordContract, smokeCases } = target.manifest;
  const clock = new Date();
  const skus = [...new Set(smokeCases.flatMap((smokeCase) => smokeCase.skus ?? []))];
  try {
    const serve = target.serve({ records: new Map(), now: clock });
    const requests = [
      ...smokeCases.map((smokeCase) => smokeCase.request),
      ...skus.flatMap((sku) => probes.map((probe) => probe.request(sku, { now: clock }))),
    ];
    for (const request of requests) if (request) await serve(request).catch(() => {});
    recordContract.safeParse({});
    for (const probe of probes) probe.responseContract?.safeParse({});
    for (const { expect } of smokeCases) if ('contract' in expect) expect.contract?.safeParse({});
  } catch {}
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
}

type Mapped = { ok: true; record: unknown } | { ok: false; message: string };
type Loaded = { ok: true; mapper: LoadedMapper } | { ok: false; message: string };

async function verify(
  target: SandboxTarget,
  fixtures: SandboxFixtures,
  runDir: string,
): Promise<VerificationCheck[]> {
  const candidate = await loadMapper(runDir, SANDBOX_FILES.candidate, fixtures, 'candidate');
  const live = await loadMapper(runDir, SANDBOX_FILES.live, fixtures, 'live');
  if (!candidate.ok || !live.ok) {
    const message = candidate.ok ? (live as { message: string }).message : candidate.message;
    return SANDBOX_CHECKS.map((name) => ({
      name,
      ok: false,
      passed: 0,
      failed: 1,
      first_failures: [clip(message)],
      duration_ms: 0,
    }));
  }

  const clock = new Date(fixtures.now);
  const syncedAt = fixtures.now;
  const items = new Map(fixtures.items.map(({ sku, item }) => [sku, item]));
  const records = new Map<string, Mapped>();
  for (const [sku, item] of items) records.set(sku, mapThrough(candidate.mapper, item, syncedAt));
  const served = new Map<string, unknown>();
  for (const [sku, mapped] of records) if (mapped.ok) served.set(sku, mapped.record);
  const serve = target.serve({ records: served, now: clock });
  const context: CheckContext = {
    target,
    fixtures,
    clock,
    serve,
    records,
    live: live.mapper,
    items,
  };

  return [
    await replay(context),
    await smoke(context),
    differential(context, candidate.mapper, live.mapper, items, syncedAt),
  ];
}

async function loadMapper(
  runDir: string,
  file: string,
  fixtures: SandboxFixtures,
  role: 'candidate' | 'live',
): Promise<Loaded> {
  const id = role === 'candidate' ? fixtures.candidateId : fixtures.liveId;
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(path.join(runDir, file)).href);
  } catch (error) {
    return { ok: false, message: `${role} release ${id} does not load: ${describeError(error)}` };
  }
  const mapper = module[fixtures.exportName];
  if (typeof mapper !== 'function') {
    return {
      ok: false,
      message: `${role} release ${id} has no function export ${fixtures.exportName}`,
    };
  }
  return { ok: true, mapper: mapper as LoadedMapper };
}

/**
 * Maps one item and normalises the record through JSON, as a store would: what is checked is
 * what would be stored, and no candidate getter or `toJSON` runs after this point.
 */
function mapThrough(mapper: LoadedMapper, item: unknown, syncedAt: string): Mapped {
  try {
    const json = stringify(mapper(item, syncedAt));
    return { ok: true, record: json === undefined ? undefined : parse(json) };
  } catch (error) {
    return { ok: false, message: describeError(error) };
  }
}

interface CheckContext {
  readonly target: SandboxTarget;
  readonly fixtures: SandboxFixtures;
  readonly clock: Date;
  readonly serve: (request: TargetRequest) => Promise<TargetResponse>;
  /** The candidate's record (or mapping failure) of every catalog item, by SKU. */
  readonly records: ReadonlyMap<string, Mapped>;
  /** The live release's mapper and the catalog items, to tell old damage from new. */
  readonly live: LoadedMapper;
  readonly items: ReadonlyMap<string, unknown>;
}

/** Counts and first failures of one check. */
class Tally {
  passed = 0;
  failed = 0;
  tolerated = 0;
  readonly failures: string[] = [];
  readonly #started = now();

  constructor(readonly name: VerificationCheck['name']) {}

  pass(): void {
    this.passed++;
  }

  /** A case left to another fault: not failed, and counted apart from the passes. */
  tolerate(): void {
    this.tolerated++;
  }

  fail(message: string): void {
    this.failed++;
    if (this.failures.length < MAX_FAILURES) this.failures.push(clip(message));
  }

  result(): VerificationCheck {
    return {
      name: this.name,
      ok: this.failed === 0,
      passed: this.passed,
      failed: this.failed,
      ...(this.tolerated > 0 ? { left_to_other_faults: this.tolerated } : {}),
      first_failures: this.failures,
      duration_ms: Math.round((now() - this.#started) * 100) / 100,
    };
  }
}

/**
 * Affected SKUs: record contract, every applicable probe (for the probed ones), then every
 * captured request. Any other
 * catalog item the candidate's mapper threw on is a failure too (it would stop syncing).
 */
async function replay(context: CheckContext): Promise<VerificationCheck> {
  const { target, fixtures, clock, records } = context;
  const tally = new Tally('replay');
  const affected = new Set(fixtures.affected);
  const probed = new Set(fixtures.probed ?? fixtures.affected);
  // SKUs whose record still breaks, only in fields another fault owns: their API answers name
  // that other field, so their probes and captured requests say nothing about this patch.
  const otherFault = new Set<string>();
  for (const sku of fixtures.affected) {
    const mapped = records.get(sku);
    if (!mapped) tally.fail(`${sku}: no catalog item to map`);
    else if (!mapped.ok) tally.fail(`${sku}: candidate mapper threw: ${mapped.message}`);
    else {
      const issues = contractIssues(target.manifest.recordContract, mapped.record);
      if (!issues) tally.pass();
      else if (leftToAnotherFault(context, sku, mapped.record)) {
        tally.tolerate();
        otherFault.add(sku);
      } else tally.fail(`${sku}: record breaks the contract: ${issues}`);
    }
    if (!probed.has(sku) || otherFault.has(sku)) continue;
    for (const probe of target.manifest.probes) {
      const request = probe.request(sku, { now: clock });
      if (!request) continue;
      await expectResponse(context, tally, `${sku} ${probe.name}`, request, {
        status: probe.expectStatus ?? 200,
        contract: probe.responseContract,
      });
    }
  }
  for (const request of fixtures.captured) {
    const sku = skuNamedIn(request);
    if (sku !== undefined && otherFault.has(sku)) {
      tally.tolerate();
      continue;
    }
    const probe = sku
      ? target.manifest.probes.find((candidate) => {
          const generated = candidate.request(sku, { now: clock });
          return generated?.method === request.method && generated.path === request.path;
        })
      : undefined;
    const label = `captured ${request.method} ${request.path}${sku ? ` (${sku})` : ''}`;
    await expectResponse(
      context,
      tally,
      label,
      request,
      probe
        ? { status: probe.expectStatus ?? 200, contract: probe.responseContract }
        : (status) => status >= 200 && status < 300,
    );
  }
  for (const [sku, mapped] of records) {
    if (!mapped.ok && !affected.has(sku))
      tally.fail(`${sku}: candidate mapper threw: ${mapped.message}`);
  }
  return tally.result();
}

/**
 * True when the candidate's record breaks the contract only in fields outside the diagnosed ones
 * that the live release breaks too: damage of another fault (two faults in one push), which this
 * patch neither caused nor claims to fix. The diagnosed fields themselves must hold.
 */
function leftToAnotherFault(context: CheckContext, sku: string, record: unknown): boolean {
  const allowed = new Set(context.fixtures.allowedFields);
  if (allowed.size === 0) return false;
  const after = brokenFields(context.target.manifest.recordContract, record);
  if (after.some((field) => allowed.has(field) || field === '')) return false;
  const before = mapThrough(context.live, context.items.get(sku), context.fixtures.now);
  if (!before.ok) return false;
  const broken = new Set(brokenFields(context.target.manifest.recordContract, before.record));
  return after.every((field) => broken.has(field));
}

/** Top-level fields a value breaks the contract in (`''` for the record itself). */
function brokenFields(contract: z.ZodType, value: unknown): string[] {
  const parsed = contract.safeParse(value);
  if (parsed.success) return [];
  return [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? '')))];
}

/** Every smoke case of the manifest, after checking the records it reads were mapped. */
async function smoke(context: CheckContext): Promise<VerificationCheck> {
  const tally = new Tally('smoke');
  for (const smokeCase of context.target.manifest.smokeCases) {
    const missing = (smokeCase.skus ?? []).find((sku) => context.records.get(sku)?.ok !== true);
    if (missing !== undefined) {
      const mapped = context.records.get(missing);
      const why = !mapped
        ? 'no catalog item'
        : `candidate mapper threw: ${(mapped as { message: string }).message}`;
      tally.fail(`${smokeCase.name}: no record for ${missing} (${why})`);
      continue;
    }
    await expectResponse(context, tally, smokeCase.name, smokeCase.request, smokeCase.expect);
  }
  return tally.result();
}

/**
 * Sample SKUs through live and candidate: a top-level field that differs and is not allowed
 * fails. Both mappers throwing is no change; only the live one throwing passes when the
 * candidate's record holds the contract (the candidate fixed it).
 */
function differential(
  context: CheckContext,
  candidate: LoadedMapper,
  live: LoadedMapper,
  items: ReadonlyMap<string, unknown>,
  syncedAt: string,
): VerificationCheck {
  const tally = new Tally('differential');
  const allowed = new Set(context.fixtures.allowedFields);
  for (const sku of context.fixtures.sample) {
    if (!items.has(sku)) {
      tally.fail(`${sku}: no catalog item to map`);
      continue;
    }
    const item = items.get(sku);
    const before = mapThrough(live, item, syncedAt);
    const after = mapThrough(candidate, item, syncedAt);
    if (!after.ok) {
      if (before.ok) tally.fail(`${sku}: candidate mapper threw (live did not): ${after.message}`);
      else tally.pass();
      continue;
    }
    if (!before.ok) {
      const issues = contractIssues(context.target.manifest.recordContract, after.record);
      if (issues) tally.fail(`${sku}: live mapper threw and the candidate's record is broken too`);
      else tally.pass();
      continue;
    }
    const changed = changedFields(before.record, after.record);
    if (changed === 'record') {
      tally.fail(`${sku}: record differs from live's and is not an object`);
      continue;
    }
    const refused = changed.filter((field) => !allowed.has(field));
    if (refused.length === 0) {
      tally.pass();
      continue;
    }
    const field = refused[0] ?? '';
    tally.fail(
      `${sku}: ${refused.join(', ')} changed (not an allowed field): ${field} was ` +
        `${excerpt(fieldOf(before.record, field))}, is ${excerpt(fieldOf(after.record, field))}`,
    );
  }
  return tally.result();
}

/** Sends a request and checks the answer; a throwing handler or predicate is a failure. */
async function expectResponse(
  context: CheckContext,
  tally: Tally,
  label: string,
  request: TargetRequest,
  expect: ResponsePredicate | ResponseContractExpectation,
): Promise<void> {
  let response: TargetResponse;
  try {
    response = await context.serve(request);
  } catch (error) {
    tally.fail(`${label}: the API threw: ${describeError(error)}`);
    return;
  }
  const { status, body } = response;
  if (typeof expect === 'function') {
    let ok: boolean;
    try {
      ok = expect(status, body);
    } catch (error) {
      tally.fail(`${label}: the expectation threw: ${describeError(error)}`);
      return;
    }
    if (ok) tally.pass();
    else tally.fail(`${label}: unexpected answer ${status} ${excerpt(body)}`);
    return;
  }
  if (status !== expect.status) {
    tally.fail(`${label}: status ${status}, expected ${expect.status}: ${excerpt(body)}`);
    return;
  }
  const issues = expect.contract ? contractIssues(expect.contract, body) : undefined;
  if (issues) tally.fail(`${label}: response breaks the contract: ${issues}`);
  else tally.pass();
}

/** The SKU a captured request is about: `body.sku`, else the last path segment. */
function skuNamedIn(request: TargetRequest): string | undefined {
  const body = request.body;
  if (typeof body === 'object' && body !== null) {
    const sku = (body as { sku?: unknown }).sku;
    if (typeof sku === 'string' && sku !== '') return sku;
  }
  const last = request.path.split('?')[0]?.split('/').filter(Boolean).at(-1);
  if (!last) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** The contract's issues as `path: message; …`, or `undefined` when the value holds. */
function contractIssues(contract: z.ZodType, value: unknown): string | undefined {
  const parsed = contract.safeParse(value);
  if (parsed.success) return undefined;
  return parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Top-level keys whose JSON values differ, or `'record'` when either side is not an object. */
function changedFields(before: unknown, after: unknown): string[] | 'record' {
  if (!isPlainObject(before) || !isPlainObject(after)) {
    return jsonEqual(before, after) ? [] : 'record';
  }
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => !jsonEqual(before[key], after[key])).sort();
}

/** Deep equality of JSON values; object key order does not matter. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((value, index) => jsonEqual(value, b[index]));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fieldOf(record: unknown, field: string): unknown {
  return isPlainObject(record) ? record[field] : undefined;
}

/** A value as short JSON for a failure message (`missing` for undefined). */
function excerpt(value: unknown): string {
  if (value === undefined) return 'missing';
  const json = stringify(value) ?? String(value);
  return json.length > 160 ? `${json.slice(0, 159)}…` : json;
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
}

/**
 * An error as one line: its code (or name) and message, plus the permission and resource a
 * denial names. Never throws, whatever candidate code threw.
 */
function describeError(error: unknown): string {
  try {
    if (error instanceof Error) {
      const { code, permission, resource } = error as Error & Record<string, unknown>;
      const head = typeof code === 'string' ? code : error.name;
      const where = [permission, resource].filter((part) => typeof part === 'string' && part);
      return `${head}: ${error.message}${where.length > 0 ? ` (${where.join(' ')})` : ''}`;
    }
    return String(error);
  } catch {
    return 'an error that cannot be described';
  }
}
