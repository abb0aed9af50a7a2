import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ProductRecordSchema } from '../functions/shop/contract.js';
import { shopTarget } from '../functions/shop/manifest.js';
import { FLAGSHIP_ORDER_ID } from '../functions/shop/orders.js';
import { buildShopRelease, SHOP_MAPPER_FILE, SHOP_REPO_ROOT } from '../functions/shop/releases.js';
import { shopSandbox } from '../functions/shop/sandbox.js';
import { FLAGSHIP_SKU, seedCatalog } from '../functions/shop/seed.js';
import { buildRelease, type Release, sha256 } from '../functions/target/releases.js';
import {
  buildSandboxHarness,
  closeSandboxPool,
  runSandbox,
  SANDBOX_POOL_SIZE,
  type SandboxHarness,
  type SandboxInput,
  type SandboxResult,
  warmSandbox,
} from '../functions/verify/sandbox/run-sandbox.js';

const NOW = '2025-02-10T11:00:00.000Z';
const catalog = seedCatalog();
const items = catalog.map((item) => ({ sku: item.sku, item }));
const clearance = catalog
  .filter((item) => item.category === 'clearance')
  .slice(0, 4)
  .map((item) => item.sku);
const eligibilityRequest = {
  method: 'POST' as const,
  path: '/shop/returns/eligibility',
  body: { order_id: FLAGSHIP_ORDER_ID, sku: FLAGSHIP_SKU },
};
const MAPPER_HEAD =
  'export function toProductRecord(item: CatalogItem, syncedAt: string): ProductRecord {';

let dir: string;
let harness: SandboxHarness;
let harnessBuildMs: number;
let r1: Release;
let r2: Release;
let mapperSource: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sandbox-'));
  r1 = await buildShopRelease('R1');
  r2 = await buildShopRelease('R2', { parent: r1 });
  mapperSource = readFileSync(path.join(SHOP_REPO_ROOT, SHOP_MAPPER_FILE), 'utf8');
  const started = performance.now();
  harness = await buildSandboxHarness({
    repoRoot: SHOP_REPO_ROOT,
    module: shopTarget.sandbox,
    dir,
  });
  harnessBuildMs = performance.now() - started;
});

afterAll(async () => {
  await closeSandboxPool();
  await rm(dir, { recursive: true, force: true });
});

// (e) Whatever a run did, its run directory is gone once it returns.
afterEach(async () => {
  await expectOnlyIdleChild();
});

/** The flagship heal: live R2 broke `return_policy`, candidate R1 restores it. */
const healInput = (overrides: Partial<SandboxInput> = {}): SandboxInput => ({
  exportName: shopTarget.mapper.export,
  candidate: r1,
  live: r2,
  items,
  affected: clearance,
  sample: items.slice(0, 100).map(({ sku }) => sku),
  captured: [eligibilityRequest],
  allowedFields: ['return_policy'],
  now: NOW,
  ...overrides,
});

const run = (input: SandboxInput, options: { timeoutMs?: number } = {}) =>
  runSandbox(input, { harness, dir, ...options });

const check = (result: SandboxResult, name: string) =>
  result.checks.find((candidate) => candidate.name === name);

/** Everything a result says went wrong, as one text. */
const complaints = (result: SandboxResult) =>
  [result.error?.message ?? '', ...result.checks.flatMap((c) => c.first_failures)].join('\n');

/**
 * A candidate built from the real mapper file with code added: `imports` at the top, `top` at
 * module level after the mapper, `inMapper` as the mapper's first statements.
 */
const candidateWith = (
  id: string,
  code: { imports?: string; top?: string; inMapper?: string },
): Promise<Release> => {
  const body = mapperSource.replace(MAPPER_HEAD, `${MAPPER_HEAD}\n${code.inMapper ?? ''}`);
  expect(body).toContain(code.inMapper ?? '');
  return buildRelease({
    id,
    path: SHOP_MAPPER_FILE,
    sourceText: `${code.imports ?? ''}\n${body}\n${code.top ?? ''}\n`,
    repoRoot: SHOP_REPO_ROOT,
  });
};

/** PIDs of live processes whose command line mentions the test directory (sandbox children). */
const sandboxChildren = () =>
  execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dir) && line.includes('--allow-fs-read'));

/** Names of the run directories under the test directory. */
const runDirs = () => readdirSync(dir).filter((name) => name.startsWith('run-'));

/**
 * No child of a finished run is left, nor its run directory: the only sandbox children alive are
 * the warm pool's idle ones (at most its size per spec), and the only run directories theirs.
 */
const expectOnlyIdleChild = () =>
  vi.waitFor(
    () => {
      const children = sandboxChildren();
      const left = runDirs();
      expect(children.length).toBeLessThanOrEqual(SANDBOX_POOL_SIZE);
      expect(left).toHaveLength(children.length);
      for (const name of left) {
        expect(
          children.filter((line) => line.includes(`${path.sep}${name}${path.sep}`)),
        ).toHaveLength(1);
      }
    },
    { timeout: 2_000, interval: 50 },
  );

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

describe('shopSandbox', () => {
  it("serves the shop's real API from the records it is given", async () => {
    const item = catalog[0];
    const record = { ...item, synced_at: NOW };
    const handle = shopSandbox.serve({
      records: new Map([[FLAGSHIP_SKU, record]]),
      now: new Date(NOW),
    });

    const read = await handle({ method: 'GET', path: `/shop/products/${FLAGSHIP_SKU}` });
    const eligibility = await handle(eligibilityRequest);
    const unknown = await handle({ method: 'GET', path: '/shop/products/SKU-NOPE' });

    expect(read).toEqual({ status: 200, body: record });
    expect(ProductRecordSchema.safeParse(read.body).success).toBe(true);
    expect(eligibility).toEqual({
      status: 200,
      body: { eligible: true, reason: 'within_return_window', window_days: 30 },
    });
    expect(unknown.status).toBe(404);
  });
});

describe('buildSandboxHarness', () => {
  it('writes one self-contained bundle named by its hash, and memoises it', async () => {
    const started = performance.now();
    const again = await buildSandboxHarness({
      repoRoot: SHOP_REPO_ROOT,
      module: shopTarget.sandbox,
      dir,
    });
    const memoisedMs = performance.now() - started;
    const text = readFileSync(harness.file, 'utf8');
    console.log(
      `sandbox harness: built in ${harnessBuildMs.toFixed(0)} ms, ` +
        `memoised call ${memoisedMs.toFixed(2)} ms, ${(text.length / 1024).toFixed(0)} KiB`,
    );

    expect(again).toEqual(harness);
    expect(path.basename(harness.file)).toBe(`harness-${harness.hash}.mjs`);
    expect(sha256(text)).toBe(harness.hash);
    expect(text).not.toMatch(/^\s*import\s+[^'"]*from\s+['"](?!node:)/m);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(memoisedMs).toBeLessThan(5);
  });
});

describe('runSandbox: verdicts', () => {
  it('(a) passes candidate R1 against live R2 when return_policy may change', async () => {
    await run(healInput()); // one warm-up run, so the timing is of a steady state
    const started = performance.now();
    const result = await run(healInput());
    const wallMs = performance.now() - started;
    console.log(
      `sandbox run (a): ${wallMs.toFixed(0)} ms wall, ${result.duration_ms.toFixed(0)} ms reported; ` +
        result.checks.map((c) => `${c.name} ${c.passed}/${c.passed + c.failed}`).join(', '),
    );

    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.name)).toEqual(['replay', 'smoke', 'differential']);
    for (const c of result.checks) {
      expect(c).toMatchObject({ ok: true, failed: 0, first_failures: [] });
      expect(c.passed).toBeGreaterThan(0);
    }
    // A record and a product read per affected SKU, eligibility for the ordered flagship, and
    // the captured request.
    expect(check(result, 'replay')?.passed).toBeGreaterThanOrEqual(clearance.length * 2 + 2);
    expect(check(result, 'smoke')?.passed).toBe(shopTarget.smokeCases.length);
    expect(check(result, 'differential')?.passed).toBe(100);
    expect(clearance).toContain(FLAGSHIP_SKU);
    expect(wallMs).toBeLessThan(3_000);
  });

  it('(b) fails the broken R2 as a candidate, naming return_policy', async () => {
    const result = await run(healInput({ candidate: r2, live: r1 }));

    expect(result.ok).toBe(false);
    expect(result.error).toBeUndefined();
    const replay = check(result, 'replay');
    expect(replay?.ok).toBe(false);
    expect(replay?.failed).toBeGreaterThan(0);
    expect(replay?.first_failures[0]).toMatch(/^SKU-1001: .*return_policy/);
    expect(replay?.first_failures.join('\n')).toMatch(/returns-eligibility: status 500/);
    expect(check(result, 'smoke')?.ok).toBe(false);
  });

  it('(c) fails the differential run when the changed field is not allowed', async () => {
    const result = await run(healInput({ allowedFields: [] }));

    expect(result.ok).toBe(false);
    expect(check(result, 'replay')?.ok).toBe(true);
    const differential = check(result, 'differential');
    expect(differential?.ok).toBe(false);
    expect(differential?.failed).toBe(100);
    expect(differential?.first_failures[0]).toMatch(/^SKU-1001: return_policy changed/);
  });

  it('passes identical releases and fails every check when the export is missing', async () => {
    const same = await run(healInput({ live: r1, allowedFields: [] }));
    const renamed = await buildRelease({
      id: 'renamed',
      path: SHOP_MAPPER_FILE,
      sourceText: mapperSource.replace('function toProductRecord', 'function toRecord'),
      repoRoot: SHOP_REPO_ROOT,
    });
    const missing = await run(healInput({ candidate: renamed }));

    expect(same.ok).toBe(true);
    expect(missing.ok).toBe(false);
    expect(missing.checks).toHaveLength(3);
    for (const c of missing.checks) {
      expect(c.ok).toBe(false);
      expect(c.first_failures[0]).toMatch(/candidate release renamed has no function export/);
    }
  });
});

describe('runSandbox: (d) malicious candidates', () => {
  it('denies writing a file, and the file does not appear', async () => {
    const target = path.join(dir, 'pwned.txt');
    const candidate = await candidateWith('writes', {
      imports: "import { writeFileSync } from 'node:fs';",
      top: `writeFileSync(${JSON.stringify(target)}, 'pwned');`,
    });
    const inRunDir = await candidateWith('writes-run-dir', {
      imports: "import { writeFileSync } from 'node:fs';",
      inMapper: "writeFileSync(new URL('./pwned.txt', import.meta.url), 'pwned');",
    });

    const result = await run(healInput({ candidate }));
    const runDirResult = await run(healInput({ candidate: inRunDir }));

    expect(result.ok).toBe(false);
    expect(result.error?.reason).toBe('denied');
    expect(result.error?.message).toMatch(/ERR_ACCESS_DENIED.*FileSystemWrite/);
    expect(existsSync(target)).toBe(false);
    expect(runDirResult.ok).toBe(false);
    expect(runDirResult.error?.reason).toBe('denied');
  });

  it('denies spawning a child process', async () => {
    const candidate = await candidateWith('spawns', {
      imports: "import { execSync } from 'node:child_process';",
      inMapper: "execSync('id');",
    });

    const result = await run(healInput({ candidate }));

    expect(result.ok).toBe(false);
    expect(result.error?.reason).toBe('denied');
    expect(check(result, 'replay')?.first_failures[0]).toMatch(
      /^SKU-1001: candidate mapper threw: ERR_ACCESS_DENIED/,
    );
  });

  it('denies the network: listening, fetch and http', async () => {
    const listens = await candidateWith('listens', {
      imports: "import net from 'node:net';",
      top: 'net.createServer().listen(0);',
    });
    const fetches = await candidateWith('fetches', {
      inMapper: "void fetch('http://127.0.0.1:9/exfiltrate');",
    });
    const requests = await candidateWith('requests', {
      imports: "import { get } from 'node:http';",
      inMapper: "get('http://127.0.0.1:9/exfiltrate');",
    });

    for (const candidate of [listens, fetches, requests]) {
      const result = await run(healInput({ candidate }));
      expect(result.ok, candidate.id).toBe(false);
      expect(result.error?.reason, candidate.id).toBe('denied');
      expect(complaints(result), candidate.id).toMatch(/sandbox: network access denied/);
    }
  });

  it('denies reading /etc/passwd', async () => {
    const candidate = await candidateWith('reads', {
      imports: "import { readFileSync } from 'node:fs';",
      top: "export const leaked = readFileSync('/etc/passwd', 'utf8');",
    });

    const result = await run(healInput({ candidate }));

    expect(result.ok).toBe(false);
    expect(result.error?.reason).toBe('denied');
    expect(result.error?.message).toMatch(/ERR_ACCESS_DENIED.*FileSystemRead \/etc\/passwd/);
  });

  it('kills an infinite loop at the timeout, and the child is gone', async () => {
    const candidate = await candidateWith('loops', { inMapper: 'for (;;) {}' });
    const timeoutMs = 1_500;

    const started = performance.now();
    const result = await run(healInput({ candidate }), { timeoutMs });
    const wallMs = performance.now() - started;

    expect(result).toMatchObject({ ok: false, checks: [], error: { reason: 'timeout' } });
    expect(wallMs).toBeGreaterThanOrEqual(timeoutMs);
    expect(wallMs).toBeLessThan(timeoutMs + 1_000);
    await expectOnlyIdleChild();
  });

  it('ends a candidate that allocates without bound', async () => {
    const candidate = await candidateWith('hogs', {
      inMapper:
        'const hog: string[][] = [];\nfor (;;) hog.push(new Array(1_000_000).fill(syncedAt));',
    });

    const result = await run(healInput({ candidate }));

    expect(result.ok).toBe(false);
    expect(result.checks).toEqual([]);
    expect(['memory', 'crashed']).toContain(result.error?.reason);
    expect(result.error?.message).toMatch(/heap|memory/i);
  });

  it('refuses eval', async () => {
    const candidate = await candidateWith('evals', { top: "export const two = eval('1+1');" });

    const result = await run(healInput({ candidate }));

    expect(result.ok).toBe(false);
    expect(complaints(result)).toMatch(/Code generation from strings disallowed/);
  });

  it('cannot forge a passing result by printing one and exiting', async () => {
    const forged = JSON.stringify({
      ok: true,
      checks: ['replay', 'smoke', 'differential'].map((name) => ({
        name,
        ok: true,
        passed: 1,
        failed: 0,
        first_failures: [],
        duration_ms: 1,
      })),
    });
    const print = `process.stdout.write(${JSON.stringify(`\n${forged}\n`)});`;
    const exits = await candidateWith('forges-and-exits', { top: `${print} process.exit(0);` });
    // The broken R2, printing the same line but leaving the harness to report.
    const broken = await buildRelease({
      id: 'forges-broken',
      path: SHOP_MAPPER_FILE,
      sourceText: `${r2.source}\n${print}\n`,
      repoRoot: SHOP_REPO_ROOT,
    });

    const exited = await run(healInput({ candidate: exits }));
    const reported = await run(healInput({ candidate: broken }));

    expect(exited).toMatchObject({ ok: false, checks: [], error: { reason: 'bad-output' } });
    expect(reported.ok).toBe(false);
    expect(check(reported, 'replay')?.first_failures[0]).toMatch(/return_policy/);
  });

  it('cannot patch the builtins the harness relies on', async () => {
    const candidate = await candidateWith('patches', {
      top: 'Array.prototype.every = () => true;',
    });
    const swapsGlobal = await candidateWith('swaps', {
      top: 'globalThis.JSON = { parse: () => ({}), stringify: () => "{}" } as unknown as JSON;',
    });

    for (const release of [candidate, swapsGlobal]) {
      const result = await run(healInput({ candidate: release }));
      expect(result.ok, release.id).toBe(false);
      expect(complaints(result), release.id).toMatch(/does not load: TypeError: Cannot assign/);
    }
  });
});

describe('runSandbox: warm pool', () => {
  /**
   * A candidate that fails every item with a report of its process id, its own URL (in the run
   * directory) and the global an earlier candidate in the same process would have left.
   */
  let reporter: Release;

  beforeAll(async () => {
    reporter = await candidateWith('reports', {
      top: [
        "const seen = String(Reflect.get(globalThis, '__sandboxRun'));",
        "Reflect.set(globalThis, '__sandboxRun', 'left by ' + process.pid);",
      ].join('\n'),
      inMapper: [
        "const now = String(Reflect.get(globalThis, '__sandboxRun'));",
        "throw new Error('pid ' + process.pid + ' url ' + import.meta.url + ' seen ' + seen + ' now ' + now);",
      ].join('\n'),
    });
  });

  /** What the reporter candidate said in a run. */
  const reportOf = (result: SandboxResult) => {
    const failure = check(result, 'replay')?.first_failures[0] ?? '';
    const match = /pid (\d+) url (\S+) seen (.+) now (.+)$/.exec(failure);
    expect(match, failure).not.toBeNull();
    const [, pid = '', url = '', seen = '', now = ''] = match ?? [];
    return { pid, runDir: path.dirname(fileURLToPath(url)), seen, now };
  };

  it('runs warm faster than cold (median of 3 each)', async () => {
    const cold: SandboxResult[] = [];
    const warm: SandboxResult[] = [];
    for (let round = 0; round < 3; round++) {
      await closeSandboxPool();
      cold.push(await run(healInput()));
      await warmSandbox({ harness, dir });
      warm.push(await run(healInput()));
    }
    const coldMs = median(cold.map((result) => result.duration_ms));
    const warmMs = median(warm.map((result) => result.duration_ms));
    const list = (results: SandboxResult[]) =>
      results.map((result) => result.duration_ms.toFixed(0)).join('/');
    console.log(
      `sandbox run, median of 3: cold ${coldMs.toFixed(0)} ms (${list(cold)}), ` +
        `warm ${warmMs.toFixed(0)} ms (${list(warm)})`,
    );

    for (const result of [...cold, ...warm]) {
      expect(result.error).toBeUndefined();
      expect(result.ok).toBe(true);
    }
    expect(cold.map((result) => result.warm)).toEqual([false, false, false]);
    expect(warm.map((result) => result.warm)).toEqual([true, true, true]);
    expect(warmMs).toBeLessThan(coldMs);
  });

  it('never reuses a child: each run gets its own process and run directory', async () => {
    await warmSandbox({ harness, dir });
    const first = await run(healInput({ candidate: reporter }));
    const second = await run(healInput({ candidate: reporter }));
    const [one, two] = [reportOf(first), reportOf(second)];

    expect([first.warm, second.warm]).toEqual([true, true]);
    expect(first.ok).toBe(false);
    expect(two.pid).not.toBe(one.pid);
    expect(two.runDir).not.toBe(one.runDir);
    expect(path.dirname(one.runDir)).toBe(path.dirname(two.runDir));
    // The first candidate left a global behind; the second run's process never saw it.
    expect(one.now).toBe(`left by ${one.pid}`);
    expect(one.seen).toBe('undefined');
    expect(two.seen).toBe('undefined');
    expect(existsSync(one.runDir) || existsSync(two.runDir)).toBe(false);
  });

  it('keeps an idle child waiting past the time limit of a run', async () => {
    const timeoutMs = 1_000;
    await closeSandboxPool();
    await warmSandbox({ harness, dir });
    const idle = sandboxChildren();
    expect(idle).toHaveLength(SANDBOX_POOL_SIZE);

    await new Promise((resolve) => setTimeout(resolve, timeoutMs * 2));
    expect(sandboxChildren()).toEqual(idle);
    const result = await run(healInput(), { timeoutMs });

    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ ok: true, warm: true });
  });

  it('still denies a malicious candidate in a warm child: writing a file, listening', async () => {
    const target = path.join(dir, 'pwned-warm.txt');
    const writes = await candidateWith('writes-warm', {
      imports: "import { writeFileSync } from 'node:fs';",
      top: `writeFileSync(${JSON.stringify(target)}, 'pwned');`,
    });
    const listens = await candidateWith('listens-warm', {
      imports: "import net from 'node:net';",
      top: 'net.createServer().listen(0);',
    });

    await warmSandbox({ harness, dir });
    const written = await run(healInput({ candidate: writes }));
    await warmSandbox({ harness, dir });
    const listened = await run(healInput({ candidate: listens }));

    expect(written).toMatchObject({ ok: false, warm: true, error: { reason: 'denied' } });
    expect(written.error?.message).toMatch(/ERR_ACCESS_DENIED.*FileSystemWrite/);
    expect(existsSync(target)).toBe(false);
    expect(listened).toMatchObject({ ok: false, warm: true, error: { reason: 'denied' } });
    expect(complaints(listened)).toMatch(/sandbox: network access denied/);
  });

  it('closeSandboxPool() leaves no child process and no run directory', async () => {
    await warmSandbox({ harness, dir });
    expect(sandboxChildren()).toHaveLength(SANDBOX_POOL_SIZE);
    expect(runDirs()).toHaveLength(SANDBOX_POOL_SIZE);

    await closeSandboxPool();

    expect(sandboxChildren()).toEqual([]);
    expect(runDirs()).toEqual([]);
    // Nobody warmed the pool: the next run starts a child of its own, and fills the pool a
    // little later, not while it runs.
    const cold = await run(healInput());
    expect(sandboxChildren()).toEqual([]);
    await vi.waitFor(() => expect(sandboxChildren()).toHaveLength(SANDBOX_POOL_SIZE), {
      timeout: 5_000,
      interval: 50,
    });
    const warm = await run(healInput());
    expect(cold).toMatchObject({ ok: true, warm: false });
    expect(warm).toMatchObject({ ok: true, warm: true });
  });
});
