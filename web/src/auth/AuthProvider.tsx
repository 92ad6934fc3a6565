import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { api, type ApiClient, type AuthChangeReason, type AuthState, type User } from '../api/client';
import { useI18n } from '../i18n/I18nProvider';

/** Why the login page is shown, when it is not simply a first visit. */
export type LoginNotice = 'peer-logout' | 'expired' | 'logout' | 'deleted' | 'disabled';

interface AuthValue {
  client: ApiClient;
  status: AuthState;
  user: User | null;
  /** Set when loading the signed-in user failed (shown by pages that need the user). */
  userError: unknown;
  setUser: (user: User) => void;
  reloadUser: () => Promise<void>;
  notice: LoginNotice | null;
  setNotice: (notice: LoginNotice | null) => void;
}

const AuthContext = createContext<AuthValue | null>(null);

function noticeFor(reason: AuthChangeReason): LoginNotice | null {
  if (reason === 'peer-logout' || reason === 'expired' || reason === 'logout' || reason === 'disabled') return reason;
  return null;
}

export function AuthProvider({ children, client = api() }: { children: ReactNode; client?: ApiClient }) {
  const [status, setStatus] = useState<AuthState>(client.state);
  const [user, setUserState] = useState<User | null>(null);
  const [userError, setUserError] = useState<unknown>(null);
  const [notice, setNotice] = useState<LoginNotice | null>(null);
  const wasSignedIn = useRef(false);
  const loadSeq = useRef(0);

  const reloadUser = useCallback(async () => {
    const seq = ++loadSeq.current;
    setUserError(null);
    try {
      const me = await client.me();
      if (seq === loadSeq.current) setUserState(me);
    } catch (error) {
      // A 401 that survives a refresh signs the client out and the state listener handles it;
      // anything else is shown by the page that needs the user.
      if (seq === loadSeq.current) setUserError(error);
    }
  }, [client]);

  useEffect(() => {
    const unsubscribe = client.subscribe((next, reason) => {
      setStatus(next);
      if (next === 'signed-in') {
        const first = !wasSignedIn.current;
        wasSignedIn.current = true;
        setNotice(null);
        // A routine token refresh keeps the same user; anything else (re)loads it.
        if (first || reason !== 'refresh') void reloadUser();
      } else if (next === 'signed-out') {
        loadSeq.current++;
        setUserState(null);
        // A disabled account is worth telling even on a fresh page load (the start-up refresh).
        if (wasSignedIn.current || reason === 'disabled') {
          setNotice((current) => (current === 'deleted' ? current : noticeFor(reason)));
        }
        wasSignedIn.current = false;
      }
    });
    void client.init().then((state) => {
      setStatus(state);
      if (state === 'signed-in' && !wasSignedIn.current) {
        wasSignedIn.current = true;
        void reloadUser();
      }
    });
    return unsubscribe;
  }, [client, reloadUser]);

  const setUser = useCallback((next: User) => setUserState(next), []);

  return (
    <AuthContext.Provider value={{ client, status, user, userError, setUser, reloadUser, notice, setNotice }}>
      {children}
    </AuthContext.Provider>
  );
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

/** Route guard: waits for the start-up refresh, then sends signed-out visitors to /login. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  const { t } = useI18n();
  const location = useLocation();
  if (status === 'unknown') {
    return (
      <p className="loading" role="status">
        {t('common.loading')}
      </p>
    );
  }
  if (status === 'signed-out') {
    return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  }
  return <>{children}</>;
}

/** For /login and /signup: signed-in visitors go on to where they were headed. */
export function RedirectIfSignedIn({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  const location = useLocation();
  if (status === 'signed-in') {
    const from = (location.state as { from?: string } | null)?.from;
    return <Navigate to={from && from.startsWith('/') && !from.startsWith('//') ? from : '/profile'} replace />;
  }
  return <>{children}</>;
}
