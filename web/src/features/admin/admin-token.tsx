import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { TokenDialog } from './token-dialog.js';

/** Where the admin token lives for the browser session (never in localStorage). */
export const ADMIN_TOKEN_KEY = 'selfheal.adminToken';

interface AdminTokenApi {
  /** The session's token, asking for it once in a dialog; `undefined` when the person cancels. */
  readonly getToken: () => Promise<string | undefined>;
  /** Drops a token the server refused, so the next action asks again. */
  readonly forgetToken: () => void;
}

const AdminTokenContext = createContext<AdminTokenApi | undefined>(undefined);

function readToken(): string | undefined {
  try {
    return sessionStorage.getItem(ADMIN_TOKEN_KEY) || undefined;
  } catch {
    return undefined;
  }
}

function writeToken(token: string | undefined) {
  try {
    if (token) sessionStorage.setItem(ADMIN_TOKEN_KEY, token);
    else sessionStorage.removeItem(ADMIN_TOKEN_KEY);
  } catch {
    // Refused storage: the token then lasts as long as the page.
  }
}

/**
 * Holds the admin token for admin actions (approve, reject, rollback, inject, reset): asked
 * once in a small dialog, kept in `sessionStorage` for the session, forgotten on a 401.
 */
export function AdminTokenProvider({ children }: { children: ReactNode }) {
  const tokenRef = useRef<string | undefined>(readToken());
  const [pending, setPending] = useState<((token: string | undefined) => void) | undefined>();
  const pendingRef = useRef<Promise<string | undefined> | undefined>(undefined);

  const getToken = useCallback((): Promise<string | undefined> => {
    tokenRef.current ??= readToken();
    if (tokenRef.current) return Promise.resolve(tokenRef.current);
    // Two actions at once share one dialog.
    pendingRef.current ??= new Promise<string | undefined>((resolve) => {
      setPending(() => (token: string | undefined) => {
        pendingRef.current = undefined;
        setPending(undefined);
        if (token) {
          tokenRef.current = token;
          writeToken(token);
        }
        resolve(token);
      });
    });
    return pendingRef.current;
  }, []);

  const forgetToken = useCallback(() => {
    tokenRef.current = undefined;
    writeToken(undefined);
  }, []);

  // An unmounted provider answers its open question with "cancelled".
  const pendingAnswer = useRef(pending);
  pendingAnswer.current = pending;
  useEffect(() => () => pendingAnswer.current?.(undefined), []);

  const api = useMemo(() => ({ getToken, forgetToken }), [getToken, forgetToken]);
  return (
    <AdminTokenContext.Provider value={api}>
      {children}
      {pending && (
        <TokenDialog onSubmit={(token) => pending(token)} onCancel={() => pending(undefined)} />
      )}
    </AdminTokenContext.Provider>
  );
}

export function useAdminToken(): AdminTokenApi {
  const api = useContext(AdminTokenContext);
  if (!api) throw new Error('useAdminToken needs an <AdminTokenProvider> above it');
  return api;
}
