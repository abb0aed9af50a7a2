import { Redis } from 'ioredis';

/** The value at fraction `p` (0–1) of sorted samples, nearest rank; NaN with no samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Rounds to `digits` decimals for printing. */
export const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/**
 * A connected Redis client, or exit 1 with the connection's own error (ECONNREFUSED, ...): a
 * benchmark without its server has nothing to measure.
 */
export async function redisOrExit(url: string, bench: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The connection error says more than the rejection ('Connection is closed').
  let cause: Error | undefined;
  redis.on('error', (error: Error) => {
    cause = error;
  });
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (error) {
    redis.disconnect();
    console.error(
      `${bench}: Redis is not answering at ${url}: ${(cause ?? (error as Error)).message}`,
    );
    process.exit(1);
  }
}
