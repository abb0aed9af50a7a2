import { z } from 'zod';
import { ConfigError } from '../runtime/config.js';

/** How the live trace stream (`GET /api/stream`) behaves; every value has a default. */
export interface StreamSettings {
  /** The bus stream followed (`traces`: every stage's `trace.step`). */
  readonly stream: string;
  /** A `: hb` comment is sent this often, so proxies and clients see a live connection. */
  readonly heartbeatMs: number;
  /**
   * A connection is ended cleanly after this long; the client reconnects with its last id and
   * misses nothing. Keep it below the function's timeout in AWS.
   */
  readonly maxConnectionMs: number;
  /** The `retry:` hint: how long a browser waits before reconnecting. */
  readonly retryMs: number;
  /**
   * Bytes a client may have waiting behind a socket that does not drain; past this it is
   * dropped (and resumes from its last id when it reconnects).
   */
  readonly clientBufferBytes: number;
  /** How long the shared tailer's `XREAD BLOCK` waits before looking again. */
  readonly tailBlockMs: number;
  /** Entries the shared tailer reads at most per round trip. */
  readonly tailBatch: number;
  /** Entries per `range` page when a reconnecting client catches up. */
  readonly backfillPage: number;
}

/** The defaults: a heartbeat every 15 s, connections of at most 5 min, reconnect after 1 s. */
export const DEFAULT_STREAM_SETTINGS: StreamSettings = {
  stream: 'traces',
  heartbeatMs: 15_000,
  maxConnectionMs: 5 * 60_000,
  retryMs: 1_000,
  clientBufferBytes: 1024 * 1024,
  tailBlockMs: 5_000,
  tailBatch: 500,
  backfillPage: 500,
};

const intIn = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** The environment variables of the stream (all optional). */
export const StreamEnvSchema = z.object({
  SELFHEAL_SSE_HEARTBEAT_MS: intIn(10, 3_600_000, DEFAULT_STREAM_SETTINGS.heartbeatMs),
  SELFHEAL_SSE_MAX_CONNECTION_MS: intIn(100, 86_400_000, DEFAULT_STREAM_SETTINGS.maxConnectionMs),
  SELFHEAL_SSE_RETRY_MS: intIn(0, 3_600_000, DEFAULT_STREAM_SETTINGS.retryMs),
  SELFHEAL_SSE_CLIENT_BUFFER_BYTES: intIn(
    1_024,
    1024 * 1024 * 1024,
    DEFAULT_STREAM_SETTINGS.clientBufferBytes,
  ),
  SELFHEAL_SSE_TAIL_BLOCK_MS: intIn(1, 60_000, DEFAULT_STREAM_SETTINGS.tailBlockMs),
});

/**
 * Reads the stream's settings from an environment (default `process.env`). Throws a
 * {@link ConfigError} naming every invalid key.
 *
 * @example
 * parseStreamSettings({ SELFHEAL_SSE_HEARTBEAT_MS: '5000' }).heartbeatMs; // 5000
 */
export function parseStreamSettings(env: NodeJS.ProcessEnv = process.env): StreamSettings {
  const result = StreamEnvSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        key: issue.path.map(String).join('.') || '(env)',
        message: issue.message,
      })),
    );
  }
  const parsed = result.data;
  return {
    ...DEFAULT_STREAM_SETTINGS,
    heartbeatMs: parsed.SELFHEAL_SSE_HEARTBEAT_MS,
    maxConnectionMs: parsed.SELFHEAL_SSE_MAX_CONNECTION_MS,
    retryMs: parsed.SELFHEAL_SSE_RETRY_MS,
    clientBufferBytes: parsed.SELFHEAL_SSE_CLIENT_BUFFER_BYTES,
    tailBlockMs: parsed.SELFHEAL_SSE_TAIL_BLOCK_MS,
  };
}
