import { HttpError } from '../../lib/http-error.js';
import { type Health, HealthSchema } from './health-schema.js';

/** Where the runtime reports its health. */
export const HEALTH_URL = '/healthz';

/**
 * Fetches and parses the runtime's health. A degraded runtime may answer 503 with a health
 * body: that body is still shown, since it says which backend is down.
 */
export async function fetchHealth(signal?: AbortSignal): Promise<Health> {
  const response = await fetch(HEALTH_URL, { signal, headers: { accept: 'application/json' } });
  const body: unknown = await response.json().catch(() => undefined);
  const parsed = HealthSchema.safeParse(body);
  if (parsed.success) {
    return parsed.data;
  }
  if (!response.ok) {
    throw new HttpError(HEALTH_URL, response.status, response.statusText);
  }
  throw parsed.error;
}
