import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createLlmPlanner,
  type LlmPlannerOptions,
  llmPlannerFromConfig,
  type PlanRequest,
  parsePlanAnswer,
} from '../functions/patch/llm/planner.js';
import { ConfigError } from '../functions/runtime/config.js';
import { type ChatServer, parseOpenAiRequest, startOpenAiServer } from './support/openai-server.js';

const API_KEY = 'sk-llm-test-0123456789';
const MODEL = 'gpt-test-mini';

const SOURCE = [
  'export function toProductRecord(item: Item): ProductRecord {',
  '  return { sku: item.sku, title: item.title };',
  '}',
  '',
].join('\n');

const PLAN = {
  instruction: 'Map return_policy onto the product record.',
  snippet: [
    '// ... existing code ...',
    '  return { sku: item.sku, title: item.title, return_policy: item.return_policy };',
    '// ... existing code ...',
  ].join('\n'),
};

const request = (incidentId = 'inc-0001'): PlanRequest =>
  structuredClone({
    incidentId,
    diagnosis: {
      fault_class: 'unknown' as const,
      fields: ['return_policy'],
      location: {
        file: 'functions/shop/catalog-sync.ts',
        symbol: 'toProductRecord',
        start_line: 1,
        end_line: 3,
      },
      evidence: [{ source: 'signal' as const, summary: 'return_policy is null in 3 records' }],
    },
    path: 'functions/shop/catalog-sync.ts',
    source: SOURCE,
  });

const usage = { prompt_tokens: 120, completion_tokens: 40 };

describe('Patch: LLM planner', () => {
  let llm: ChatServer;
  const planner = (options: Partial<LlmPlannerOptions> = {}) =>
    createLlmPlanner({
      baseUrl: llm.baseUrl,
      apiKey: API_KEY,
      model: MODEL,
      timeoutMs: 2_000,
      ...options,
    });

  beforeAll(async () => {
    llm = await startOpenAiServer({ apiKey: API_KEY });
  });
  beforeEach(() => llm.reset());
  afterAll(() => llm.close());

  describe('the request', () => {
    it('sends the model, max_tokens, temperature 0, the bearer key, the diagnosis and the source', async () => {
      llm.script({ kind: 'answer', content: JSON.stringify(PLAN), usage });

      await planner({ maxTokens: 512 }).plan(request());

      expect(llm.requests).toHaveLength(1);
      const [sent] = llm.requests;
      expect(sent).toMatchObject({
        path: '/v1/chat/completions',
        authorization: `Bearer ${API_KEY}`,
        status: 200,
      });
      const body = parseOpenAiRequest(sent?.body);
      expect(body).toMatchObject({ model: MODEL, max_tokens: 512, temperature: 0 });
      expect(body.messages.map((m) => m.role)).toEqual(['system', 'user']);
      const user = body.messages[1]?.content ?? '';
      expect(user).toContain('"fault_class": "unknown"');
      expect(user).toContain('"symbol": "toProductRecord"');
      expect(user).toContain('return_policy is null in 3 records');
      expect(user).toContain(
        `<source path="functions/shop/catalog-sync.ts">\n${SOURCE}\n</source>`,
      );
    });

    it('does not call the model for a diagnosis a deterministic planner owns', async () => {
      const req = request();
      const result = await planner().plan({
        ...req,
        diagnosis: { ...req.diagnosis, fault_class: 'dropped-field' },
      });

      expect(result).toMatchObject({ ok: false, reason: 'not-applicable' });
      expect(llm.requests).toHaveLength(0);
    });
  });

  describe('the answer format', () => {
    it('accepts a bare JSON object and records the call with its usage', async () => {
      llm.script({ kind: 'answer', content: JSON.stringify(PLAN), usage });
      const p = planner();

      const result = await p.plan(request());

      expect(result).toMatchObject({ ok: true, ...PLAN, usage, spent_tokens: 160 });
      expect(p.calls('inc-0001')).toEqual([
        { model: MODEL, ok: true, ...usage, duration_ms: expect.any(Number) },
      ]);
    });

    it('accepts the object inside a ```json fence', async () => {
      llm.script({
        kind: 'answer',
        content: `\`\`\`json\n${JSON.stringify(PLAN, null, 2)}\n\`\`\``,
        usage,
      });

      const result = await planner().plan(request());

      expect(result).toMatchObject({ ok: true, ...PLAN });
    });

    it.each([
      ['prose', 'I would add return_policy to the record.'],
      ['prose around the JSON', `Here is the fix:\n${JSON.stringify(PLAN)}`],
      ['prose around a fence', `Sure!\n\`\`\`json\n${JSON.stringify(PLAN)}\n\`\`\``],
      ['a fence not tagged json', `\`\`\`\n${JSON.stringify(PLAN)}\n\`\`\``],
      ['a missing snippet', JSON.stringify({ instruction: PLAN.instruction })],
      ['an extra key', JSON.stringify({ ...PLAN, confidence: 0.9 })],
      ['a blank instruction', JSON.stringify({ ...PLAN, instruction: '  ' })],
      ['a JSON array', JSON.stringify([PLAN])],
    ])('refuses %s as bad-format and still charges the tokens', async (_case, content) => {
      llm.script({ kind: 'answer', content, usage });
      const p = planner();

      const result = await p.plan(request());

      expect(result).toMatchObject({ ok: false, reason: 'bad-format', usage, spent_tokens: 160 });
      expect(p.calls('inc-0001')).toMatchObject([{ ok: false, reason: 'bad-format', ...usage }]);
    });

    it('reports an answer cut at max_tokens as truncated', async () => {
      llm.script({
        kind: 'answer',
        content: '{"instruction": "Map',
        finishReason: 'length',
        usage,
      });

      const result = await planner().plan(request());

      expect(result).toMatchObject({ ok: false, reason: 'truncated' });
    });

    it('reads the strict format without a server', () => {
      expect(parsePlanAnswer(` ${JSON.stringify(PLAN)}\n`)).toEqual({ ok: true, answer: PLAN });
      expect(parsePlanAnswer('```json\n{"instruction":"x","snippet":"y"}\n```')).toEqual({
        ok: true,
        answer: { instruction: 'x', snippet: 'y' },
      });
      expect(parsePlanAnswer('```json\n{"instruction":"x","snippet":"y"}\n``` done').ok).toBe(
        false,
      );
    });
  });

  describe('failures from the server', () => {
    it('reports a wrong key as http-401 without charging tokens or echoing the key', async () => {
      const wrongKey = 'sk-llm-wrong-key-9876';
      const p = planner({ apiKey: wrongKey });

      const result = await p.plan(request());

      expect(result).toMatchObject({ ok: false, reason: 'http-401', spent_tokens: 0 });
      expect(result).not.toHaveProperty('usage');
      expect(JSON.stringify(result)).not.toContain(wrongKey);
      expect(p.calls('inc-0001')).toMatchObject([
        { ok: false, reason: 'http-401', prompt_tokens: 0 },
      ]);
    });

    it('reports a 500 as http-500', async () => {
      llm.script({ kind: 'status', status: 500 });

      const result = await planner().plan(request());

      expect(result).toMatchObject({ ok: false, reason: 'http-500' });
      expect(llm.requests).toHaveLength(1);
    });

    it('reports a model that does not answer in time as timeout', async () => {
      llm.script({ kind: 'hang' });

      const result = await planner({ timeoutMs: 100 }).plan(request());

      expect(result).toMatchObject({ ok: false, reason: 'timeout' });
    });

    it.each([
      ['not JSON', '{"choices": ['],
      [
        'no usage',
        JSON.stringify({ choices: [{ message: { content: '{}' }, finish_reason: 'stop' }] }),
      ],
    ])('reports an answer with %s as bad-response', async (_case, body) => {
      llm.script({ kind: 'raw', body });

      const result = await planner().plan(request());

      expect(result).toMatchObject({ ok: false, reason: 'bad-response' });
    });
  });

  describe('the token budget', () => {
    it('adds up usage per incident and refuses to call once the budget is spent', async () => {
      llm.script(
        { kind: 'answer', content: 'prose', usage: { prompt_tokens: 150, completion_tokens: 50 } },
        {
          kind: 'answer',
          content: JSON.stringify(PLAN),
          usage: { prompt_tokens: 90, completion_tokens: 60 },
        },
        { kind: 'answer', content: JSON.stringify(PLAN), usage },
      );
      const p = planner({ budgetTokens: 300 });

      const first = await p.plan(request());
      const second = await p.plan(request());
      const third = await p.plan(request());

      expect(first).toMatchObject({ ok: false, reason: 'bad-format', spent_tokens: 200 });
      expect(second).toMatchObject({ ok: true, spent_tokens: 350 });
      expect(third).toMatchObject({ ok: false, reason: 'budget-exhausted', spent_tokens: 350 });
      expect(llm.requests).toHaveLength(2);
      expect(p.spent('inc-0001')).toBe(350);
      expect(p.calls('inc-0001')).toHaveLength(2);
    });

    it('keeps a separate budget for each incident', async () => {
      llm.script(
        {
          kind: 'answer',
          content: JSON.stringify(PLAN),
          usage: { prompt_tokens: 100, completion_tokens: 0 },
        },
        { kind: 'answer', content: JSON.stringify(PLAN), usage },
      );
      const p = planner({ budgetTokens: 100 });

      await p.plan(request('inc-a'));
      const exhausted = await p.plan(request('inc-a'));
      const other = await p.plan(request('inc-b'));

      expect(exhausted).toMatchObject({ ok: false, reason: 'budget-exhausted' });
      expect(other).toMatchObject({ ok: true, spent_tokens: 160 });
      expect(llm.requests).toHaveLength(2);
    });
  });

  describe('configuration', () => {
    it('is off by default', () => {
      expect(llmPlannerFromConfig({})).toBeUndefined();
      expect(llmPlannerFromConfig({ LLM_API_KEY: API_KEY, LLM_MODEL: MODEL })).toBeUndefined();
    });

    it('names the missing keys when enabled without a key or model', () => {
      expect(() => llmPlannerFromConfig({ LLM_PLANNER_ENABLED: true })).toThrow(ConfigError);
      expect(() =>
        llmPlannerFromConfig({ LLM_PLANNER_ENABLED: true, LLM_MODEL: MODEL }),
      ).toThrowErrorMatchingInlineSnapshot(
        `[ConfigError: invalid configuration: LLM_API_KEY (required when LLM_PLANNER_ENABLED is true)]`,
      );
    });

    it('plans against the configured endpoint when enabled', async () => {
      llm.script({ kind: 'answer', content: JSON.stringify(PLAN), usage });
      const p = llmPlannerFromConfig({
        LLM_PLANNER_ENABLED: true,
        LLM_BASE_URL: llm.baseUrl,
        LLM_API_KEY: API_KEY,
        LLM_MODEL: MODEL,
        LLM_MAX_TOKENS: 256,
      });

      const result = await p?.plan(request());

      expect(result).toMatchObject({ ok: true, ...PLAN });
      expect(parseOpenAiRequest(llm.requests[0]?.body).max_tokens).toBe(256);
    });
  });
});
