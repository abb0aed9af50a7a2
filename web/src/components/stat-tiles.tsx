import type { ReactNode } from 'react';

/** One headline figure: a label, its value, and an optional line that qualifies it. */
export interface StatTile {
  readonly label: string;
  readonly value: ReactNode;
  readonly detail?: ReactNode;
}

/** Headline figures as a grid of labelled tiles (a description list, so each value is named). */
export function StatTiles({
  tiles,
  className = 'grid-cols-2 md:grid-cols-3 xl:grid-cols-5',
}: {
  tiles: readonly StatTile[];
  className?: string;
}) {
  return (
    <dl className={`grid gap-3 ${className}`}>
      {tiles.map((tile) => (
        <div
          key={tile.label}
          className="min-w-0 rounded-xl border border-slate-800 bg-slate-900/60 p-4"
        >
          <dt className="text-xs uppercase tracking-wide text-slate-500">{tile.label}</dt>
          <dd className="mt-1 break-words font-mono text-xl">{tile.value}</dd>
          {tile.detail && <dd className="mt-1 text-xs text-slate-400">{tile.detail}</dd>}
        </div>
      ))}
    </dl>
  );
}
