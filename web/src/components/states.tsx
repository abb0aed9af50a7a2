import type { ReactNode } from 'react';
import { errorMessage } from '../lib/error-message.js';

/** A read in flight: says what is loading, with a quiet skeleton. */
export function LoadingState({ label }: { label: string }) {
  return (
    <div role="status" aria-label={label} className="flex flex-col gap-2 py-2">
      <span className="text-sm text-slate-400">{label}</span>
      <span aria-hidden="true" className="h-3 w-2/3 animate-pulse rounded bg-slate-800" />
      <span aria-hidden="true" className="h-3 w-1/2 animate-pulse rounded bg-slate-800" />
    </div>
  );
}

/** A failed read: what failed, in the app's one wording, and a way to try again. */
export function ErrorState({
  what,
  error,
  onRetry,
}: {
  what: string;
  error: unknown;
  onRetry?: () => void;
}) {
  return (
    <div
      role="alert"
      className="flex flex-wrap items-center justify-between gap-3 rounded-md bg-red-950/60 px-3 py-2 text-red-200"
    >
      <span>
        Could not load {what}: {errorMessage(error)}
      </span>
      {onRetry && (
        <button
          type="button"
          onClick={onRetry}
          className="rounded-md border border-red-800 px-3 py-1 text-sm hover:bg-red-900/60"
        >
          Try again
        </button>
      )}
    </div>
  );
}

/** Nothing to show yet: says why, and what would change that. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="rounded-lg border border-dashed border-slate-700 px-4 py-8 text-center">
      <p className="font-medium text-slate-200">{title}</p>
      {children && <div className="mt-2 text-sm text-slate-400">{children}</div>}
    </div>
  );
}
