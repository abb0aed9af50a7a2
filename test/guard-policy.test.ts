import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FaultClassSchema } from '../events/healing.js';
import {
  autonomyFor,
  DEFAULT_POLICY,
  freezeAt,
  loadPolicy,
  type Policy,
  PolicyError,
  parsePolicy,
} from '../functions/guard/policy.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'guard-policy-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a policy file in a fresh directory and returns the directory. */
const policyDir = (name: string, content: string) => {
  const folder = mkdtempSync(path.join(dir, `${name}-`));
  writeFileSync(path.join(folder, 'selfheal.policy.json'), content);
  return folder;
};

/** The error `fn` throws, which must be a PolicyError. */
const policyError = (fn: () => unknown): PolicyError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return error as PolicyError;
  }
  throw new Error('expected a PolicyError');
};

const withWindows = (freeze_windows: unknown[]): Policy =>
  parsePolicy({ freeze_windows }, 'inline');

describe('Guard: policy', () => {
  describe('defaults', () => {
    it('grants auto to the field faults, propose to enum drift and unknown, observe to outages', () => {
      const expected = {
        'dropped-field': 'auto',
        'renamed-field': 'auto',
        'moved-field': 'auto',
        'type-drift': 'auto',
        'enum-drift': 'propose',
        'dependency-down': 'observe',
        unknown: 'propose',
      } as const;
      expect(DEFAULT_POLICY.autonomy).toEqual(expected);
      for (const faultClass of FaultClassSchema.options) {
        expect(autonomyFor(DEFAULT_POLICY, faultClass)).toBe(expected[faultClass]);
      }
    });

    it('sets the limits, the forbidden modules and no freeze window', () => {
      expect(DEFAULT_POLICY).toMatchObject({
        min_confidence_for_auto: 0.6,
        max_files: 1,
        max_changed_lines: 20,
        heals_per_hour: 10,
        freeze_windows: [],
        max_backfill_skus: 1000,
      });
      expect(DEFAULT_POLICY.allowlist).toBeUndefined();
      expect(DEFAULT_POLICY.forbidden_modules).toEqual([
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
      ]);
    });

    it('is what an empty policy parses to, and cannot be edited in place', () => {
      expect(parsePolicy({}, 'inline')).toEqual(DEFAULT_POLICY);
      expect(Object.isFrozen(DEFAULT_POLICY.autonomy)).toBe(true);
      expect(Object.isFrozen(DEFAULT_POLICY.forbidden_modules)).toBe(true);
    });
  });

  describe('parsePolicy', () => {
    it('merges a partial policy with the defaults', () => {
      const policy = parsePolicy(
        {
          autonomy: { 'type-drift': 'propose', 'dependency-down': 'propose' },
          max_files: 2,
          allowlist: ['functions/shop/*.ts'],
        },
        'selfheal.policy.json',
      );
      expect(policy.autonomy).toEqual({
        ...DEFAULT_POLICY.autonomy,
        'type-drift': 'propose',
        'dependency-down': 'propose',
      });
      expect(policy.max_files).toBe(2);
      expect(policy.allowlist).toEqual(['functions/shop/*.ts']);
      expect(policy.max_changed_lines).toBe(20);
      expect(policy.forbidden_modules).toEqual(DEFAULT_POLICY.forbidden_modules);
    });

    it('names the source and the field of a bad value', () => {
      const error = policyError(() =>
        parsePolicy({ autonomy: { 'dropped-field': 'yes' } }, 'selfheal.policy.json'),
      );
      expect(error.message).toBe(
        'selfheal.policy.json: autonomy.dropped-field: expected one of observe|propose|auto',
      );
      expect(error.source).toBe('selfheal.policy.json');
    });

    it('rejects a misspelt key, at the top and inside autonomy', () => {
      const error = policyError(() =>
        parsePolicy({ max_file: 2, autonomy: { 'droped-field': 'auto' } }, 'my-policy.json'),
      );
      expect(error.message).toMatch(/^my-policy\.json: /);
      expect(error.problems.map((problem) => problem.path).sort()).toEqual([
        'autonomy.droped-field',
        'max_file',
      ]);
    });

    it('lists every bad field at once', () => {
      const error = policyError(() =>
        parsePolicy(
          {
            min_confidence_for_auto: 1.5,
            max_changed_lines: 0,
            freeze_windows: [{ weekdays: [7], start: '09:00', end: '10:00' }],
          },
          'p.json',
        ),
      );
      expect(error.problems.map((problem) => problem.path)).toEqual([
        'min_confidence_for_auto',
        'max_changed_lines',
        'freeze_windows.0.weekdays.0',
      ]);
    });

    it('checks freeze windows: datetimes, order and clock times', () => {
      const error = policyError(() =>
        withWindows([
          { from: '2025-02-10', to: '2025-02-11T00:00:00Z' },
          { from: '2025-02-11T00:00:00Z', to: '2025-02-10T00:00:00Z' },
          { weekdays: [1], start: '9:00', end: '10:00' },
        ]),
      );
      expect(error.problems.map((problem) => problem.path)).toEqual([
        'freeze_windows.0.from',
        'freeze_windows.1.to',
        'freeze_windows.2.start',
      ]);
    });
  });

  describe('loadPolicy', () => {
    it('uses the defaults when the working directory has no policy file', () => {
      const empty = mkdtempSync(path.join(dir, 'empty-'));
      expect(loadPolicy({ cwd: empty })).toEqual(DEFAULT_POLICY);
    });

    it('reads selfheal.policy.json from the working directory', () => {
      const folder = policyDir('partial', JSON.stringify({ heals_per_hour: 3 }));
      const policy = loadPolicy({ cwd: folder });
      expect(policy.heals_per_hour).toBe(3);
      expect(policy.autonomy).toEqual(DEFAULT_POLICY.autonomy);
    });

    it('requires an explicit file to exist, and names it', () => {
      const error = policyError(() => loadPolicy({ file: 'nowhere.json', cwd: dir }));
      expect(error.message).toContain('nowhere.json');
    });

    it('reads an explicit file relative to cwd', () => {
      const folder = policyDir('explicit', '{}');
      writeFileSync(path.join(folder, 'strict.json'), JSON.stringify({ max_changed_lines: 5 }));
      expect(loadPolicy({ file: 'strict.json', cwd: folder }).max_changed_lines).toBe(5);
    });

    it('names the file of invalid JSON and of a bad field', () => {
      const broken = policyDir('broken', '{ "max_files": ');
      expect(() => loadPolicy({ file: 'selfheal.policy.json', cwd: broken })).toThrow(
        /^selfheal\.policy\.json: \(root\): invalid JSON/,
      );
      const bad = policyDir('bad', JSON.stringify({ autonomy: { unknown: 'always' } }));
      expect(() => loadPolicy({ file: 'selfheal.policy.json', cwd: bad })).toThrow(
        'selfheal.policy.json: autonomy.unknown: expected one of observe|propose|auto',
      );
    });

    it("parses the repository's selfheal.policy.json to exactly the defaults", () => {
      const text = readFileSync(path.join(REPO_ROOT, 'selfheal.policy.json'), 'utf8');
      expect(parsePolicy(JSON.parse(text), 'selfheal.policy.json')).toEqual(DEFAULT_POLICY);
      // Every default is spelled out, not left implicit.
      expect(JSON.parse(text)).toEqual(DEFAULT_POLICY);
      expect(loadPolicy({ cwd: REPO_ROOT })).toEqual(DEFAULT_POLICY);
    });
  });

  describe('freezeAt', () => {
    it('is never frozen without windows', () => {
      expect(freezeAt(DEFAULT_POLICY, new Date('2025-02-14T17:00:00Z'))).toEqual({ frozen: false });
    });

    it('freezes inside an absolute window: from inclusive, to exclusive', () => {
      const policy = withWindows([
        { from: '2025-12-20T00:00:00Z', to: '2026-01-02T00:00:00Z', reason: 'holidays' },
      ]);
      const at = (iso: string) => freezeAt(policy, new Date(iso));
      expect(at('2025-12-19T23:59:59.999Z')).toEqual({ frozen: false });
      expect(at('2025-12-20T00:00:00.000Z')).toEqual({ frozen: true, reason: 'holidays' });
      expect(at('2026-01-01T23:59:59.999Z')).toEqual({ frozen: true, reason: 'holidays' });
      expect(at('2026-01-02T00:00:00.000Z')).toEqual({ frozen: false });
    });

    it('reads offsets of absolute windows', () => {
      const policy = withWindows([
        { from: '2025-03-01T10:00:00+02:00', to: '2025-03-01T11:00:00+02:00' },
      ]);
      expect(freezeAt(policy, new Date('2025-03-01T08:30:00Z')).frozen).toBe(true);
      expect(freezeAt(policy, new Date('2025-03-01T10:30:00Z')).frozen).toBe(false);
    });

    it('freezes a weekly window on its weekdays only, in UTC, end exclusive', () => {
      // 2025-02-14 is a Friday (5), 2025-02-13 a Thursday.
      const policy = withWindows([{ weekdays: [5], start: '16:00', end: '24:00' }]);
      const at = (iso: string) => freezeAt(policy, new Date(iso));
      expect(at('2025-02-14T15:59:59.999Z')).toEqual({ frozen: false });
      expect(at('2025-02-14T16:00:00.000Z')).toEqual({
        frozen: true,
        reason: 'weekly freeze window Fri 16:00-24:00 UTC',
      });
      expect(at('2025-02-14T23:59:59.999Z').frozen).toBe(true);
      expect(at('2025-02-15T00:00:00.000Z').frozen).toBe(false);
      expect(at('2025-02-13T17:00:00.000Z').frozen).toBe(false);
      // 17:30 in Paris is 16:30 UTC.
      expect(freezeAt(policy, new Date('2025-02-14T17:30:00+01:00')).frozen).toBe(true);
    });

    it('runs a weekly window past midnight into the next day, Saturday into Sunday', () => {
      const policy = withWindows([
        { weekdays: [6], start: '22:00', end: '06:00', reason: 'weekend batch' },
      ]);
      const at = (iso: string) => freezeAt(policy, new Date(iso)).frozen;
      expect(at('2025-02-15T21:59:00Z')).toBe(false); // Saturday
      expect(at('2025-02-15T22:00:00Z')).toBe(true);
      expect(at('2025-02-16T05:59:59Z')).toBe(true); // Sunday, next week's day 0
      expect(at('2025-02-16T06:00:00Z')).toBe(false);
      expect(at('2025-02-09T03:00:00Z')).toBe(true); // the Sunday before, after last Saturday
      expect(at('2025-02-14T23:00:00Z')).toBe(false); // Friday night
    });
  });
});
