import { z } from 'zod';
import { type ChatBehaviour, type ChatServer, startChatServer } from './openai-server.js';

export type { ChatBehaviour as MorphBehaviour };

/**
 * Morph's Apply request: one user message whose content is exactly
 * `<instruction>…</instruction>\n<code>…</code>\n<update>…</update>`.
 */
const MorphRequestSchema = z.object({
  model: z.string().min(1),
  messages: z
    .array(z.object({ role: z.literal('user'), content: z.string() }))
    .length(1, 'exactly one user message'),
});

const CONTENT =
  /^<instruction>([\s\S]*)<\/instruction>\n<code>([\s\S]*)<\/code>\n<update>([\s\S]*)<\/update>$/;

export interface MorphApplyParts {
  readonly model: string;
  readonly content: string;
  readonly instruction: string;
  readonly code: string;
  readonly update: string;
}

/**
 * Reads a recorded request body as Morph reads it; throws when it is not a well-formed Apply
 * request (the server answers those with 400).
 */
export function morphPartsOf(body: unknown): MorphApplyParts {
  const { model, messages } = MorphRequestSchema.parse(body);
  const content = messages[0]?.content ?? '';
  const match = CONTENT.exec(content);
  if (!match)
    throw new Error(
      'content is not <instruction>…</instruction>\\n<code>…</code>\\n<update>…</update>',
    );
  const [, instruction = '', code = '', update = ''] = match;
  return { model, content, instruction, code, update };
}

/**
 * A local stand-in for Morph's Apply API (`POST /v1/chat/completions`), scripted per test: it
 * answers 401 to any other key, 400 to a body that is not one user message in Morph's exact
 * format, and otherwise plays the next scripted behaviour. The merged text of a happy path is
 * whatever the test scripts; this server does not pretend to merge.
 */
export const startMorphServer = (options: { readonly apiKey: string }): Promise<ChatServer> =>
  startChatServer({
    apiKey: options.apiKey,
    validate: (body) => {
      try {
        morphPartsOf(body);
        return undefined;
      } catch (error) {
        return error instanceof z.ZodError
          ? error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')
          : String(error instanceof Error ? error.message : error);
      }
    },
  });
