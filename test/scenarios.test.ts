import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_ADMIN_TOKEN, DEMO_WEBHOOK_SECRET } from '../functions/runtime/config.js';
import { runHarness, summarize } from '../scenarios/harness.js';
import { findScenario, SCENARIO_LIBRARY } from '../scenarios/index.js';
import { requireService } from './support/services.js';
import { startTestSystem, type TestSystem } from './support/system.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const root = fileURLToPath(new URL('../', import.meta.url));
const redisUp = await requireService('redis');
const postgresUp = await requireService('postgres');
const dynamodbLocal = inject('dynamodbLocalEndpoint');

const scenarios = (...ids: string[]) =>
  ids.map((id) => {
    const scenario = findScenario(id);
    if (!scenario) throw new Error(`no scenario ${id}`);
    return scenario;
  });
const p = (values: readonly number[], fraction: number) =>
  values.length === 0
    ? null
    : ([...values].sort((a, b) => a - b)[Math.ceil(fraction * values.length) - 1] ?? null);

describe('The fault library', () => {
  it('has the classes, variants and controls the evaluation needs, each described', () => {
    const byClass = (name: string) => SCENARIO_LIBRARY.filter((s) => s.class === name);
    expect(SCENARIO_LIBRARY.length).toBeGreaterThanOrEqual(16);
    for (const name of [
      'dropped-field',
      'renamed-field',
      'moved-field',
      'type-drift',
      'enum-drift',
    ]) {
      expect(byClass(name).length, name).toBeGreaterThanOrEqual(2);
      // Variants differ in field and SKU set.
      const [a, b] = byClass(name);
      expect(a?.affected()).not.toEqual(b?.affected());
    }
    expect(byClass('dependency-down')).toHaveLength(1);
    expect(byClass('none').length).toBeGreaterThanOrEqual(4);
    expect(SCENARIO_LIBRARY.some((s) => s.release !== undefined)).toBe(true);
    expect(SCENARIO_LIBRARY.some((s) => s.pushes().some((push) => push.fault))).toBe(true);
    expect(SCENARIO_LIBRARY.some((s) => s.diagnoses.length === 2)).toBe(true);
    expect(
      byClass('none').some((s) => s.pushes().reduce((n, push) => n + push.items.length, 0) >= 5000),
    ).toBe(true);
    expect(new Set(SCENARIO_LIBRARY.map((s) => s.id)).size).toBe(SCENARIO_LIBRARY.length);
    for (const scenario of SCENARIO_LIBRARY) {
      expect(scenario.description.length, scenario.id).toBeGreaterThan(60);
    }
  });

  it('stays out of the healing stages: no import of it, no scenario id, no fixed SKU', () => {
    const healing = [
      'functions/ingest',
      'functions/sync',
      'functions/validator',
      'functions/probe',
      'functions/rca',
      'functions/patch',
      'functions/guard',
      'functions/verify',
      'functions/heal',
      'functions/runtime',
      'functions/target',
    ];
    const walk = (dir: string): string[] =>
      readdirSync(path.join(root, dir)).flatMap((name) => {
        const file = path.join(dir, name);
        if (statSync(path.join(root, file)).isDirectory()) return walk(file);
        return file.endsWith('.ts') ? [file] : [];
      });
    const files = healing.flatMap(walk);
    expect(files.length).toBeGreaterThan(40);
    const offenders: string[] = [];
    for (const file of files) {
      const text = readFileSync(path.join(root, file), 'utf8');
      if (/from ['"][./]*scenarios\//.test(text)) offenders.push(`${file}: imports scenarios/`);
      for (const scenario of SCENARIO_LIBRARY) {
        if (text.includes(scenario.id)) offenders.push(`${file}: names ${scenario.id}`);
      }
      if (/SKU-\d{4}/.test(text)) offenders.push(`${file}: names a SKU`);
    }
    expect(offenders).toEqual([]);
  });
});

/**
 * Bounds a whole harness run on a busy CI box; each scenario run has its own timeout inside the
 * harness, which is what catches a run that never settles.
 */
const HARNESS_TEST_MS = 120_000;

describe.skipIf(!redisUp || !postgresUp || !dynamodbLocal)(
  'The evaluation harness (real pipeline)',
  () => {
    describe('with the default policy', () => {
      let system: TestSystem;
      beforeAll(async () => {
        system = await startTestSystem(dynamodbLocal, {
          SELFHEAL_POLICY_FILE: fixture('policy-harness.json'),
        });
      });
      afterAll(async () => {
        await system?.dispose();
      });

      it(
        'passes a heal, an escalation and a control, judged from outside',
        async () => {
          const results = await runHarness({
            system,
            adminToken: DEMO_ADMIN_TOKEN,
            webhookSecret: DEMO_WEBHOOK_SECRET,
            scenarios: scenarios(
              'return-policy-sync',
              'return-policy-store-credit',
              'control-optional-field',
            ),
          });
          expect(
            results.map(({ id, outcome, pass, failures }) => ({ id, outcome, pass, failures })),
          ).toEqual([
            { id: 'return-policy-sync', outcome: 'healed', pass: true, failures: [] },
            { id: 'return-policy-store-credit', outcome: 'escalated', pass: true, failures: [] },
            { id: 'control-optional-field', outcome: 'none', pass: true, failures: [] },
          ]);
          expect(results[0]).toMatchObject({ diagnosis_correct: true, patch_minimal: true });
          expect(results[0]?.ttr_ms).toBeGreaterThan(0);
          expect(results[2]).toMatchObject({ ttd_ms: null, diagnosis_correct: null });
          expect(summarize(results, p)).toMatchObject({
            total: 3,
            passed: 3,
            heal_success_rate: 1,
            false_heals: 0,
            false_alarms: 0,
            pass_all_repeats: true,
          });
        },
        HARNESS_TEST_MS,
      );
    });

    describe('with the renamed-field fix taken away', () => {
      let system: TestSystem;
      beforeAll(async () => {
        // The policy only lets the system observe renamed fields: it may diagnose, never patch.
        system = await startTestSystem(dynamodbLocal, {
          SELFHEAL_POLICY_FILE: fixture('policy-no-rename.json'),
        });
      });
      afterAll(async () => {
        await system?.dispose();
      });

      it(
        'reports the renamed-field scenarios as failed',
        async () => {
          const results = await runHarness({
            system,
            adminToken: DEMO_ADMIN_TOKEN,
            webhookSecret: DEMO_WEBHOOK_SECRET,
            scenarios: scenarios('title-renamed-to-name', 'stock-renamed-to-quantity'),
          });
          for (const result of results) {
            expect(result).toMatchObject({ outcome: 'escalated', pass: false, ttr_ms: null });
            expect(result.failures).toContain('outcome escalated, expected healed');
          }
          expect(summarize(results, p)).toMatchObject({
            passed: 0,
            heal_success_rate: 0,
            pass_all_repeats: false,
          });
        },
        HARNESS_TEST_MS,
      );
    });
  },
);
