import { z } from 'zod';
import { getJson, postAdmin } from '../../lib/api.js';
import {
  type Incident,
  IncidentListSchema,
  IncidentSchema,
  type IncidentSummary,
} from './incident-schema.js';

const incidentUrl = (id: string) => `/api/incidents/${encodeURIComponent(id)}`;

/** Where the fix of an incident downloads as a git patch. */
export const patchDownloadUrl = (id: string) => `${incidentUrl(id)}/patch`;

/** The newest incidents first. */
export async function fetchIncidents(
  limit: number,
  signal?: AbortSignal,
): Promise<IncidentSummary[]> {
  const { incidents } = await getJson(`/api/incidents?limit=${limit}`, IncidentListSchema, signal);
  return incidents;
}

/** One incident with its trace steps. */
export function fetchIncident(id: string, signal?: AbortSignal): Promise<Incident> {
  return getJson(incidentUrl(id), IncidentSchema, signal);
}

/** The admin actions on an incident; each needs the admin token. */
export type IncidentAction = 'approve' | 'reject' | 'rollback';

/** Who decides, and why: the body every admin action on an incident takes. */
export interface DecisionBody {
  readonly by: string;
  readonly note?: string;
}

/** Sends an admin action; a 401 (token) or 409 (state changed) rejects with an `HttpError`. */
export function sendIncidentAction(
  id: string,
  action: IncidentAction,
  token: string,
  body: DecisionBody,
): Promise<unknown> {
  return postAdmin(`${incidentUrl(id)}/${action}`, token, { ...body });
}

/** The active release of the demo target and its history. */
export const ReleasesSchema = z.object({
  target: z.string(),
  active: z.string().nullable().optional(),
  releases: z.array(
    z.object({
      id: z.string(),
      hash: z.string(),
      parent_id: z.string().nullable(),
      diff: z.string().nullable(),
      active: z.boolean(),
    }),
  ),
});
export type Releases = z.infer<typeof ReleasesSchema>;

export function fetchReleases(signal?: AbortSignal): Promise<Releases> {
  return getJson('/api/target/releases', ReleasesSchema, signal);
}
