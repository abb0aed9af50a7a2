import { topology } from '../../infra/topology.js';
import { deadLetterStreamOf, type StreamStats } from '../ports/bus.js';
import type { Ports } from '../runtime/ports.js';

/** Per-stream figures of `/healthz`, summed over the consumer groups that read the stream. */
export interface StreamHealth extends StreamStats {
  readonly dead_letters: number;
  /** Each consuming stage's own view. */
  readonly groups: Record<string, StreamStats>;
}

/** Stats of every stage input stream, read through each consuming stage's group. */
export async function streamHealth(ports: Ports): Promise<Record<string, StreamHealth>> {
  const byStream = new Map<string, string[]>();
  for (const stage of topology)
    byStream.set(stage.input, [...(byStream.get(stage.input) ?? []), stage.name]);
  const entries = await Promise.all(
    [...byStream].map(async ([stream, groups]) => {
      const [stats, deadLetters] = await Promise.all([
        Promise.all(groups.map((group) => ports.bus.stats(stream, group))),
        ports.bus.length(deadLetterStreamOf(stream)),
      ]);
      const health: StreamHealth = {
        length: stats[0]?.length ?? 0,
        pending: stats.reduce((sum, s) => sum + s.pending, 0),
        lag: Math.max(0, ...stats.map((s) => s.lag)),
        dead_letters: deadLetters,
        groups: Object.fromEntries(groups.map((group, i) => [group, stats[i] as StreamStats])),
      };
      return [stream, health] as const;
    }),
  );
  return Object.fromEntries(entries);
}
