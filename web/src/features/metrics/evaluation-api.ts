import { getJson } from '../../lib/api.js';
import { HttpError } from '../../lib/http-error.js';
import { type Evaluation, EvaluationSchema } from './evaluation-schema.js';

/**
 * The latest recorded harness run, or `null` when none is recorded yet (the server answers 404).
 * Any other failure is thrown for the panel's error state.
 */
export async function fetchLatestEvaluation(signal?: AbortSignal): Promise<Evaluation | null> {
  try {
    return await getJson('/api/evaluations/latest', EvaluationSchema, signal);
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) return null;
    throw error;
  }
}
