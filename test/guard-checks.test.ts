import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTwoFilesPatch } from 'diff';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CheckDiffInput,
  checkCompiles,
  checkDiff,
  type DiffProposal,
  type GuardReason,
} from '../functions/guard/checks.js';
import { DEFAULT_POLICY, parsePolicy } from '../functions/guard/policy.js';
import { sharedTypeChecker } from '../functions/guard/typecheck.js';
import { shopTarget } from '../functions/shop/manifest.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const FILE: string = shopTarget.mapper.file;
/** The real mapper: the healthy release. */
const ORIGINAL = readFileSync(path.join(REPO_ROOT, FILE), 'utf8');
const RETURN_POLICY_LINE = '    return_policy: item.return_policy,\n';
/** The mapper with the `return_policy` line dropped: the base a legit fix starts from. */
const BROKEN = ORIGINAL.replace(RETURN_POLICY_LINE, '');

const manifest = { patchable: shopTarget.patchable, protectedFiles: shopTarget.protectedFiles };
const checker = sharedTypeChecker(REPO_ROOT);

/** A diff of one file as the patch stage writes it. */
const diffOf = (file: string, before: string, after: string) =>
  createTwoFilesPatch(`a/${file}`, `b/${file}`, before, after, 'R1', 'candidate');

/** A proposal changing `base` into `merged`, with honest counts. */
const proposalOf = (base: string, merged: string, file = FILE): DiffProposal => {
  const diff = diffOf(file, base, merged);
  const lines = diff.split('\n');
  return {
    files: [file],
    diff,
    merged,
    added: lines.filter((line) => line.startsWith('+') && !line.startsWith('+++')).length,
    removed: lines.filter((line) => line.startsWith('-') && !line.startsWith('---')).length,
  };
};

const check = (
  proposal: DiffProposal,
  overrides: Partial<Omit<CheckDiffInput, 'proposal'>> = {},
): GuardReason[] =>
  checkDiff({ proposal, baseSource: BROKEN, manifest, policy: DEFAULT_POLICY, ...overrides });

const codes = (reasons: readonly GuardReason[]) => reasons.map((reason) => reason.code);

/** The healthy mapper with `text` inserted before the line containing `before`. */
const insertBefore = (before: string, text: string, source = ORIGINAL) => {
  const index = source.indexOf(before);
  if (index < 0) throw new Error(`no ${before} in the source`);
  const lineStart = source.lastIndexOf('\n', index) + 1;
  return `${source.slice(0, lineStart)}${text}\n${source.slice(lineStart)}`;
};
/** 1-based line of the first line containing `text`. */
const lineOf = (source: string, text: string) =>
  source.split('\n').findIndex((line) => line.includes(text)) + 1;

/** A proposal fixing the healthy mapper's neighbour: base ORIGINAL, merged with one change. */
const addedToOriginal = (merged: string) => ({
  proposal: proposalOf(ORIGINAL, merged),
  overrides: { baseSource: ORIGINAL },
});

beforeAll(async () => {
  // The first check builds the program (~600 ms, more on a busy machine); later ones reuse it.
  await checker.warm(FILE, ORIGINAL);
}, 10_000);

describe('Guard: checks', () => {
  describe('checkDiff', () => {
    it('passes the one-line fix of the dropped return_policy', () => {
      const proposal = proposalOf(BROKEN, ORIGINAL);
      expect(proposal.added).toBe(1);
      expect(check(proposal)).toEqual([]);
    });

    it('refuses a file outside the patchable globs', () => {
      const reasons = check(proposalOf(BROKEN, ORIGINAL, 'functions/shop/seed.ts'));
      expect(codes(reasons)).toEqual(['path-not-allowlisted']);
      expect(reasons[0]?.message).toContain('functions/shop/seed.ts');
    });

    it("refuses a patchable file outside the policy's allowlist", () => {
      const policy = parsePolicy({ allowlist: ['functions/other/**'] }, 'inline');
      expect(codes(check(proposalOf(BROKEN, ORIGINAL), { policy }))).toEqual([
        'path-not-allowlisted',
      ]);
      const allowing = parsePolicy({ allowlist: ['functions/shop/**'] }, 'inline');
      expect(check(proposalOf(BROKEN, ORIGINAL), { policy: allowing })).toEqual([]);
    });

    it('refuses a protected file, even when patchable would allow it', () => {
      const contract = 'functions/shop/contract.ts';
      const reasons = check(proposalOf(BROKEN, ORIGINAL, contract), {
        manifest: { ...manifest, patchable: ['functions/shop/**'] },
      });
      expect(codes(reasons)).toEqual(['protected-file']);
      expect(reasons[0]?.message).toContain(contract);
    });

    it('catches a second file hidden in the diff, normalising a/ and b/', () => {
      const contractSource = readFileSync(
        path.join(REPO_ROOT, 'functions/shop/contract.ts'),
        'utf8',
      );
      const proposal = proposalOf(BROKEN, ORIGINAL);
      const sneaky = {
        ...proposal,
        diff:
          proposal.diff +
          diffOf(
            'functions/shop/contract.ts',
            contractSource,
            contractSource.replace('synced_at: IsoTimestampSchema', 'synced_at: z.unknown()'),
          ),
      };
      const reasons = check(sneaky);
      const isProtected = reasons.filter((reason) => reason.code === 'protected-file');
      expect(isProtected.map((reason) => reason.message)).toEqual([
        'functions/shop/contract.ts: protected by the target manifest',
      ]);
      expect(codes(reasons)).toContain('too-many-files');
    });

    it('refuses more files than the policy allows', () => {
      const proposal = {
        ...proposalOf(BROKEN, ORIGINAL),
        files: [FILE, 'functions/shop/catalog-sync-r2.ts'],
      };
      const wide = { ...manifest, patchable: ['functions/shop/catalog-sync*.ts'] };
      expect(codes(check(proposal, { manifest: wide }))).toEqual(['too-many-files']);
      const policy = parsePolicy({ max_files: 2 }, 'inline');
      expect(check(proposal, { manifest: wide, policy })).toEqual([]);
    });

    it('counts changed lines on the diff, not on the claimed counts', () => {
      const consts = Array.from({ length: 20 }, (_, index) => `export const k${index} = ${index};`);
      const merged = `${ORIGINAL}${consts.join('\n')}\n`;
      // 20 added lines plus the return_policy line: one over the default 20.
      const lying = { ...proposalOf(BROKEN, merged), added: 1, removed: 0 };
      const reasons = check(lying);
      expect(codes(reasons)).toEqual(['too-many-lines']);
      expect(reasons[0]?.message).toContain('21 lines');
      const policy = parsePolicy({ max_changed_lines: 21 }, 'inline');
      expect(check(lying, { policy })).toEqual([]);
    });

    it.each([
      ["import { exec } from 'node:child_process';", 'forbidden-module', 'node:child_process'],
      ["const fs = require('fs');", 'forbidden-module', "'fs'"],
      ["import { readFile } from 'fs/promises';", 'forbidden-module', 'fs/promises'],
      ["export { createServer } from 'node:http';", 'forbidden-module', 'node:http'],
      ["import vm = require('vm');", 'forbidden-module', "'vm'"],
      ["const lib = await import('x');", 'forbidden-construct', 'dynamic import'],
      ["eval('1');", 'forbidden-construct', 'eval'],
      ["globalThis.eval('1');", 'forbidden-construct', 'eval'],
      ["(0, eval)('1');", 'forbidden-construct', 'eval'],
      ["const f = new Function('x');", 'forbidden-construct', 'Function'],
      ["const g = Function('return 1');", 'forbidden-construct', 'Function'],
      ["process.env.X = '1';", 'forbidden-construct', 'process.env'],
      ["process.env['X'] ??= '1';", 'forbidden-construct', 'process.env'],
      ['delete process.env.X;', 'forbidden-construct', 'process.env'],
      ["Object.assign(process.env, { X: '1' });", 'forbidden-construct', 'process.env'],
    ])('refuses an added %s', (line, code, construct) => {
      const merged = insertBefore('export function toProductRecord', line);
      const { proposal, overrides } = addedToOriginal(merged);
      const reasons = check(proposal, overrides);
      expect(codes(reasons)).toEqual([code]);
      const at = lineOf(merged, line);
      expect(reasons[0]?.message).toContain(`${FILE}:${at}:`);
      expect(reasons[0]?.message).toContain(construct);
    });

    it('reports a forbidden module imported dynamically twice over', () => {
      const merged = insertBefore(
        'export function',
        "const cp = await import('node:child_process');",
      );
      const { proposal, overrides } = addedToOriginal(merged);
      expect(codes(check(proposal, overrides)).sort()).toEqual([
        'forbidden-construct',
        'forbidden-module',
      ]);
    });

    it.each([
      ['    price: item.price as any,', 'price: item.price,', 'as any'],
      ['    price: item.price as unknown as number,', 'price: item.price,', 'as unknown as'],
      ['    // @ts-ignore', 'return_policy', '@ts-ignore'],
      ['    // @ts-expect-error', 'return_policy', '@ts-expect-error'],
      ['// biome-ignore lint/suspicious/noExplicitAny: x', 'export function', 'biome-ignore'],
      ['/* eslint-disable */', 'export function', 'eslint-disable'],
    ])('refuses an added %s', (text, anchor, marker) => {
      const merged = anchor.startsWith('price')
        ? ORIGINAL.replace(`    ${anchor}`, text)
        : insertBefore(anchor, text);
      expect(merged).not.toBe(ORIGINAL);
      const { proposal, overrides } = addedToOriginal(merged);
      const reasons = check(proposal, overrides);
      expect(codes(reasons)).toEqual(['weakens-checks']);
      expect(reasons[0]?.message).toContain(`${FILE}:${lineOf(merged, text.trim())}:`);
      expect(reasons[0]?.message).toContain(marker);
    });

    it('refuses a proposal whose merged file is not what the diff gives', () => {
      const proposal = proposalOf(BROKEN, ORIGINAL);
      // The diff reviewed is the one-line fix; the file that would run also rewrites the env.
      const merged = insertBefore('export function', "process.env.X = '1';");
      const reasons = check({ ...proposal, merged });
      expect(codes(reasons)).toEqual(['diff-mismatch']);
    });

    it('refuses a diff that does not apply to the base file', () => {
      const proposal = proposalOf(BROKEN, ORIGINAL);
      const reasons = check(proposal, { baseSource: BROKEN.replace('price:', 'cost:') });
      expect(codes(reasons)).toEqual(['diff-mismatch']);
    });

    it('refuses a diff of another file than the one the proposal names', () => {
      const proposal = proposalOf(BROKEN, ORIGINAL);
      const renamed = { ...proposal, diff: proposal.diff.replaceAll(FILE, 'functions/shop/x.ts') };
      const wide = { ...manifest, patchable: ['functions/shop/*.ts'] };
      const reasons = check(renamed, {
        manifest: wide,
        policy: parsePolicy({ max_files: 2 }, 'inline'),
      });
      expect(codes(reasons)).toEqual(['diff-mismatch']);
    });

    it('leaves alone a forbidden construct the base already had and the diff does not touch', () => {
      const prelude = "import { readFileSync } from 'node:fs';\neval('1');\n";
      const base = `${prelude}${BROKEN}`;
      const merged = `${prelude}${ORIGINAL}`;
      expect(check(proposalOf(base, merged), { baseSource: base })).toEqual([]);
      // The same constructs, once the diff edits their lines, are the patch's doing.
      const edited = `import { readFileSync, writeFileSync } from 'node:fs';\neval('2');\n${ORIGINAL}`;
      const reasons = check(proposalOf(base, edited), { baseSource: base });
      expect(codes(reasons)).toEqual(['forbidden-module', 'forbidden-construct']);
      expect(reasons.map((reason) => reason.message.split(': ')[0])).toEqual([
        `${FILE}:1`,
        `${FILE}:2`,
      ]);
    });

    it('does not mistake an eval property or a process.env read for a forbidden construct', () => {
      const merged = insertBefore(
        'export function',
        "const mode = process.env.NODE_ENV ?? 'x';\nconst tools = { eval: 1 };\nconst n = tools.eval;",
      );
      const { proposal, overrides } = addedToOriginal(merged);
      expect(check(proposal, overrides)).toEqual([]);
    });
  });

  describe('checkCompiles', () => {
    it('bundles the fixed mapper', async () => {
      expect(await checkCompiles({ path: FILE, source: ORIGINAL, repoRoot: REPO_ROOT })).toEqual(
        [],
      );
    });

    it('reports a syntax error with file, line and column', async () => {
      const source = ORIGINAL.replace(
        RETURN_POLICY_LINE,
        '    return_policy: item.return_policy,,\n',
      );
      const reasons = await checkCompiles({ path: FILE, source, repoRoot: REPO_ROOT });
      expect(codes(reasons)).toEqual(['does-not-compile']);
      expect(reasons[0]?.message).toMatch(
        new RegExp(`^${FILE.replaceAll('.', '\\.')}:${lineOf(source, ',,')}:\\d+: `),
      );
    });

    it('reports an import that does not resolve', async () => {
      const source = `import { nothing } from './no-such-module.js';\n${ORIGINAL}export { nothing };\n`;
      const reasons = await checkCompiles({ path: FILE, source, repoRoot: REPO_ROOT });
      expect(codes(reasons)).toEqual(['does-not-compile']);
      expect(reasons[0]?.message).toContain('no-such-module.js');
    });
  });

  describe('type checker', () => {
    it('passes a correct patch', async () => {
      expect(await checker.check(FILE, ORIGINAL)).toEqual([]);
    });

    it('reports a string where the return policy object is required, with its line', async () => {
      const source = ORIGINAL.replace(
        'return_policy: item.return_policy',
        'return_policy: item.title',
      );
      const reasons = await checker.check(FILE, source);
      expect(codes(reasons)).toEqual(['type-error']);
      expect(reasons[0]?.message).toMatch(
        new RegExp(
          `^${FILE.replaceAll('.', '\\.')}:${lineOf(source, 'return_policy: item.title')}:\\d+: `,
        ),
      );
      expect(reasons[0]?.message).toContain("Type 'string' is not assignable");
    });

    it('reports the missing field of the broken base', async () => {
      const reasons = await checker.check(FILE, BROKEN);
      expect(codes(reasons)).toEqual(['type-error']);
      expect(reasons[0]?.message).toContain('return_policy');
    });

    it('checks concurrent calls one at a time, each against its own source', async () => {
      const bad = ORIGINAL.replace('stock: item.stock', 'stock: item.sku');
      const results = await Promise.all([
        checker.check(FILE, bad),
        checker.check(FILE, ORIGINAL),
        checker.check(FILE, bad),
      ]);
      expect(results.map((reasons) => reasons.length)).toEqual([1, 0, 1]);
    });

    it('checks a later call fast once warm', async () => {
      const started = performance.now();
      await checker.check(FILE, ORIGINAL.replace('stock: item.stock', 'stock: item.stock + 0'));
      expect(performance.now() - started).toBeLessThan(2_000);
    });
  });
});
