import type { z } from 'zod';
import { formatPath } from '../../events/registry.js';

/** One schema problem, located by a path such as `items[3].sku`. */
export interface BodyIssue {
  readonly path: string;
  readonly message: string;
}

/** A body we cannot accept; 400, with every issue located. Safe to return to the sender. */
export interface BodyRejection {
  readonly ok: false;
  readonly status: 400;
  readonly message: string;
  readonly issues: readonly BodyIssue[];
}

/** Builds a {@link BodyRejection}. */
export const rejectBody = (message: string, issues: readonly BodyIssue[] = []): BodyRejection => ({
  ok: false,
  status: 400,
  message,
  issues,
});

/** zod issues as {@link BodyIssue}s, each path prefixed with where the value sat. */
export const issuesOf = (error: z.ZodError, prefix = ''): BodyIssue[] =>
  error.issues.map((issue) => ({ path: formatPath(issue.path, prefix), message: issue.message }));

/** `path: message; …` for the first few issues, to put in a one-line message. */
export const describeIssues = (issues: readonly BodyIssue[], limit = 3): string => {
  const shown = issues
    .slice(0, limit)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('; ');
  return issues.length > limit ? `${shown}; … ${issues.length - limit} more` : shown;
};

// fatal: invalid UTF-8 is a malformed body, not text with replacement characters to parse.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a raw body (text or bytes) as JSON; a failure is a value with the parser's reason. */
export function decodeJsonBody(
  body: string | Uint8Array,
): { readonly ok: true; readonly value: unknown } | BodyRejection {
  let text: string;
  try {
    text = typeof body === 'string' ? body : utf8.decode(body);
  } catch {
    return rejectBody('malformed JSON: the body is not valid UTF-8');
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return rejectBody(`malformed JSON: ${(error as Error).message}`);
  }
}
