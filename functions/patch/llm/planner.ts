import { z } from 'zod';
import type { DiagnosisDataSchema, EvidenceSchema } from '../../../events/healing.js';
import { ConfigError } from '../../runtime/config.js';
import {
  type ChatClient,
  type ChatMessage,
  type ChatResult,
  createChatClient,
  type TokenUsage,
} from './openai-client.js';

type DiagnosisData = z.infer<typeof DiagnosisDataSchema>;
type Evidence = z.infer<typeof EvidenceSchema>;

/** What the planner needs of a diagnosis: its class, fields, location and evidence summaries. */
export type PlannerDiagnosis = Pick<DiagnosisData, 'fault_class' | 'fields' | 'location'> & {
  readonly evidence: readonly Pick<Evidence, 'source' | 'summary'>[];
};

export interface PlanRequest {
  /** The budget is kept per incident. */
  readonly incidentId: string;
  readonly diagnosis: PlannerDiagnosis;
  /** Repository-relative path of the mapper. */
  readonly path: string;
  /** The mapper's whole source. */
  readonly source: string;
}

/** One model call, as recorded against its incident. */
export interface LlmCall {
  readonly model: string;
  readonly ok: boolean;
  readonly reason?: string;
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly duration_ms: number;
}

export type PlanFailureReason =
  /** The diagnosis is not `unknown`: the deterministic planners own it. */
  | 'not-applicable'
  /** The incident already spent its token budget; no call was made. */
  | 'budget-exhausted'
  /** The answer is not exactly `{ "instruction", "snippet" }` (bare or in one ```json fence). */
  | 'bad-format'
  /** The model stopped at `max_tokens`. */
  | 'truncated'
  /** From the client: `http-<status>`, `timeout`, `network`, `bad-response`. */
  | (string & {});

export type PlanResult =
  | {
      readonly ok: true;
      readonly instruction: string;
      readonly snippet: string;
      readonly usage: TokenUsage;
      /** Tokens the incident has spent so far, this call included. */
      readonly spent_tokens: number;
      readonly duration_ms: number;
    }
  | {
      readonly ok: false;
      readonly reason: PlanFailureReason;
      readonly message: string;
      /** Present when a call was made and the server reported what it cost. */
      readonly usage?: TokenUsage;
      readonly spent_tokens: number;
      readonly duration_ms: number;
    };

/** Where token spending is kept, per incident. */
export interface TokenLedger {
  spent(incidentId: string): number;
  record(incidentId: string, call: LlmCall): void;
  calls(incidentId: string): readonly LlmCall[];
}

/** A ledger in process memory: enough for one runtime, lost on restart. */
export function createMemoryLedger(): TokenLedger {
  const byIncident = new Map<string, LlmCall[]>();
  return {
    spent: (incidentId) =>
      (byIncident.get(incidentId) ?? []).reduce(
        (sum, call) => sum + call.prompt_tokens + call.completion_tokens,
        0,
      ),
    record: (incidentId, call) => {
      const calls = byIncident.get(incidentId) ?? [];
      calls.push(call);
      byIncident.set(incidentId, calls);
    },
    calls: (incidentId) => [...(byIncident.get(incidentId) ?? [])],
  };
}

const PlanAnswerSchema = z.strictObject({
  instruction: z.string().trim().min(1),
  snippet: z.string().refine((s) => s.trim() !== '', 'must not be blank'),
});
export type PlanAnswer = z.infer<typeof PlanAnswerSchema>;

/** A whole answer that is one ```json fence; nothing may stand before or after it. */
const JSON_FENCE = /^```json[ \t]*\r?\n([\s\S]*?)\r?\n```$/;

/**
 * Reads the model's answer under the strict format: a JSON object `{ instruction, snippet }`,
 * either bare or as the only thing inside a ```json fence. Anything else is `bad-format`.
 */
export function parsePlanAnswer(
  content: string,
):
  | { readonly ok: true; readonly answer: PlanAnswer }
  | { readonly ok: false; readonly message: string } {
  const text = content.trim();
  const fenced = JSON_FENCE.exec(text);
  const body = fenced ? (fenced[1] ?? '') : text;
  if (!body.trimStart().startsWith('{')) {
    return {
      ok: false,
      message: 'the answer is neither a JSON object nor a ```json fence holding one',
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, message: 'the answer is not valid JSON (prose around it is not accepted)' };
  }
  const parsed = PlanAnswerSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return {
      ok: false,
      message: `the JSON object is not { instruction, snippet }: ${issues.join('; ')}`,
    };
  }
  return { ok: true, answer: parsed.data };
}

const SYSTEM_PROMPT = [
  'You fix data-mapping code in an e-commerce service after an incident.',
  'You receive a diagnosis and the source of the mapper it points at.',
  'Write an update snippet for a code-apply model: only the lines that change, with a few',
  'unchanged lines around them as anchors, and a `// ... existing code ...` comment for every',
  'unchanged region left out.',
  'Answer with exactly one JSON object and nothing else:',
  '{"instruction": "<one sentence saying what the edit does>", "snippet": "<the update snippet>"}',
  'You may wrap that object in a ```json fence; no other text is accepted.',
].join('\n');

/** The two messages of a planning call: the rules, then the diagnosis and the source. */
export function planMessages(request: Omit<PlanRequest, 'incidentId'>): ChatMessage[] {
  const { fault_class, fields, location, evidence } = request.diagnosis;
  const diagnosis = {
    fault_class,
    fields,
    ...(location ? { location } : {}),
    evidence: evidence.map((e) => ({ source: e.source, summary: e.summary })),
  };
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    {
      role: 'user',
      content: [
        `<diagnosis>\n${JSON.stringify(diagnosis, null, 2)}\n</diagnosis>`,
        `<source path="${request.path}">\n${request.source}\n</source>`,
      ].join('\n'),
    },
  ];
}

export interface LlmPlannerOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly model: string;
  /** `max_tokens` per call. Default 1 024. */
  readonly maxTokens?: number;
  /** Prompt plus completion tokens one incident may spend. Default 20 000. */
  readonly budgetTokens?: number;
  /** Per call. Default 30 000 ms. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  /** Default: in process memory. */
  readonly ledger?: TokenLedger;
}

export interface LlmPlanner {
  /** Asks the model for an update snippet for an `unknown` diagnosis, within the incident's budget. */
  plan(request: PlanRequest): Promise<PlanResult>;
  /** Tokens the incident has spent. */
  spent(incidentId: string): number;
  /** Every call made for the incident, with its token usage. */
  calls(incidentId: string): readonly LlmCall[];
}

/**
 * The optional LLM planner for faults no deterministic planner recognises. It asks an
 * OpenAI-compatible model for `{ instruction, snippet }`, validates the answer strictly, and
 * records every call's token usage against the incident's budget. Results are values.
 *
 * The budget check happens before a call: an incident below its budget may overrun it by at
 * most one call's usage.
 */
export function createLlmPlanner(options: LlmPlannerOptions): LlmPlanner {
  const client: ChatClient = createChatClient(options);
  const budget = options.budgetTokens ?? 20_000;
  const ledger = options.ledger ?? createMemoryLedger();

  return {
    spent: (incidentId) => ledger.spent(incidentId),
    calls: (incidentId) => ledger.calls(incidentId),
    async plan(request) {
      const started = performance.now();
      const elapsed = () => performance.now() - started;
      const { incidentId } = request;

      if (request.diagnosis.fault_class !== 'unknown') {
        return {
          ok: false,
          reason: 'not-applicable',
          message: `the LLM planner only handles unknown faults, not ${request.diagnosis.fault_class}`,
          spent_tokens: ledger.spent(incidentId),
          duration_ms: elapsed(),
        };
      }
      const spentBefore = ledger.spent(incidentId);
      if (spentBefore >= budget) {
        return {
          ok: false,
          reason: 'budget-exhausted',
          message: `incident ${incidentId} spent ${spentBefore} of ${budget} tokens`,
          spent_tokens: spentBefore,
          duration_ms: elapsed(),
        };
      }

      const answer = await client.complete(planMessages(request));
      const usage = answer.ok ? answer.usage : undefined;
      const judged = judge(answer);
      ledger.record(incidentId, {
        model: client.model,
        ok: judged.ok,
        ...(judged.ok ? {} : { reason: judged.reason }),
        prompt_tokens: usage?.prompt_tokens ?? 0,
        completion_tokens: usage?.completion_tokens ?? 0,
        duration_ms: answer.duration_ms,
      });
      const spent = ledger.spent(incidentId);

      if (!judged.ok) {
        return {
          ok: false,
          reason: judged.reason,
          message: judged.message,
          ...(usage ? { usage } : {}),
          spent_tokens: spent,
          duration_ms: elapsed(),
        };
      }
      return {
        ok: true,
        instruction: judged.answer.instruction,
        snippet: judged.answer.snippet,
        usage: judged.usage,
        spent_tokens: spent,
        duration_ms: elapsed(),
      };
    },
  };
}

type Judged =
  | { readonly ok: true; readonly answer: PlanAnswer; readonly usage: TokenUsage }
  | { readonly ok: false; readonly reason: PlanFailureReason; readonly message: string };

/** What a call's result means for the plan: an answer in the strict format, or why not. */
function judge(result: ChatResult): Judged {
  if (!result.ok) return { ok: false, reason: result.reason, message: result.message };
  if (result.finish_reason === 'length') {
    return { ok: false, reason: 'truncated', message: 'the model stopped at max_tokens' };
  }
  const parsed = parsePlanAnswer(result.content);
  return parsed.ok
    ? { ok: true, answer: parsed.answer, usage: result.usage }
    : { ok: false, reason: 'bad-format', message: parsed.message };
}

/** The configuration keys the planner reads (a subset of the runtime config). */
export interface LlmPlannerConfig {
  readonly LLM_PLANNER_ENABLED?: boolean | undefined;
  readonly LLM_BASE_URL?: string | undefined;
  readonly LLM_API_KEY?: string | undefined;
  readonly LLM_MODEL?: string | undefined;
  readonly LLM_MAX_TOKENS?: number | undefined;
  readonly LLM_BUDGET_TOKENS?: number | undefined;
  readonly LLM_TIMEOUT_MS?: number | undefined;
}

/**
 * The planner when `LLM_PLANNER_ENABLED` is true, undefined otherwise (the default). Enabled
 * without `LLM_API_KEY` or `LLM_MODEL` is a {@link ConfigError}.
 */
export function llmPlannerFromConfig(
  config: LlmPlannerConfig,
  overrides: Pick<LlmPlannerOptions, 'fetch' | 'ledger'> = {},
): LlmPlanner | undefined {
  if (!config.LLM_PLANNER_ENABLED) return undefined;
  const apiKey = config.LLM_API_KEY?.trim();
  const model = config.LLM_MODEL?.trim();
  const missing = [...(apiKey ? [] : ['LLM_API_KEY']), ...(model ? [] : ['LLM_MODEL'])].map(
    (key) => ({ key, message: 'required when LLM_PLANNER_ENABLED is true' }),
  );
  if (!apiKey || !model) throw new ConfigError(missing);
  return createLlmPlanner({
    ...overrides,
    baseUrl: config.LLM_BASE_URL?.trim() || 'https://api.openai.com/v1',
    apiKey,
    model,
    maxTokens: config.LLM_MAX_TOKENS,
    budgetTokens: config.LLM_BUDGET_TOKENS,
    timeoutMs: config.LLM_TIMEOUT_MS,
  });
}
