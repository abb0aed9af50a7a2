import { type FormEvent, useEffect, useId, useRef, useState } from 'react';

/**
 * Asks for the admin token. Modal: focus starts in the field, Escape cancels, and the token is
 * never shown.
 */
export function TokenDialog({
  onSubmit,
  onCancel,
}: {
  onSubmit: (token: string) => void;
  onCancel: () => void;
}) {
  const [token, setToken] = useState('');
  const titleId = useId();
  const fieldId = useId();
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    input.current?.focus();
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim()) onSubmit(token.trim());
  };

  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-slate-950/80 p-4">
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        className="w-full max-w-md rounded-xl border border-slate-700 bg-slate-900 p-5 shadow-xl"
        onKeyDown={(event) => {
          if (event.key === 'Escape') onCancel();
        }}
      >
        <h2 id={titleId} className="text-lg font-medium">
          Sign in for admin actions
        </h2>
        <p className="mt-2 text-sm text-slate-400">
          Approve, reject, rollback, inject and reset need the runtime's{' '}
          <code className="text-slate-300">SELFHEAL_ADMIN_TOKEN</code>. It is kept for this browser
          session only. The local demo's token is{' '}
          <code className="text-slate-300">selfheal-local-admin</code>.
        </p>
        <form onSubmit={submit} className="mt-4 flex flex-col gap-3">
          <label htmlFor={fieldId} className="text-sm text-slate-300">
            Admin token
          </label>
          <input
            ref={input}
            id={fieldId}
            type="password"
            autoComplete="off"
            value={token}
            onChange={(event) => setToken(event.target.value)}
            className="rounded-md border border-slate-700 bg-slate-950 px-3 py-2 font-mono text-slate-100 focus:border-sky-500 focus:outline-none"
          />
          <div className="flex justify-end gap-2">
            <button
              type="button"
              onClick={onCancel}
              className="rounded-md border border-slate-700 px-3 py-1.5 text-slate-200 hover:bg-slate-800"
            >
              Cancel
            </button>
            <button
              type="submit"
              disabled={!token.trim()}
              className="rounded-md bg-sky-600 px-3 py-1.5 font-medium text-white hover:bg-sky-500 disabled:opacity-50"
            >
              Use token
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
