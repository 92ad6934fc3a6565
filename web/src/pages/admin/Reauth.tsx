// Recent authentication for destructive admin actions. The server answers such an action with
// `401 reauthentication_required` when the admin's last sign-in is older than its window; then
// this dialog asks for the admin's password (and second factor, if the account has one), signs
// in again (a fresh token with a new auth_time), ends the session it replaces, and retries the
// action once. Cancelling rejects with the original error, so the page says nothing was done.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, type MfaChallenge, type MfaMethod } from '../../api/client';
import { useAuth } from '../../auth/AuthProvider';
import { Field, FormError, Notice } from '../../components/forms';
import { useI18n } from '../../i18n/I18nProvider';
import { CODE_PATTERN, normalizeCode } from '../validation';

type Run = <T>(action: () => Promise<T>) => Promise<T>;

const ReauthContext = createContext<Run | null>(null);

export function isReauthRequired(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'reauthentication_required';
}

interface Waiter {
  error: ApiError;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function ReauthProvider({ children }: { children: ReactNode }) {
  // Every action refused meanwhile waits for the same dialog.
  const waiters = useRef<Waiter[]>([]);
  const [open, setOpen] = useState(false);

  const run = useCallback<Run>(async (action) => {
    try {
      return await action();
    } catch (error) {
      if (!isReauthRequired(error)) throw error;
      await new Promise<void>((resolve, reject) => {
        waiters.current.push({ error: error as ApiError, resolve, reject });
        setOpen(true);
      });
      // One retry with the fresh sign-in; a second refusal is shown as it is.
      return action();
    }
  }, []);

  const settle = useCallback((ok: boolean) => {
    const list = waiters.current;
    waiters.current = [];
    setOpen(false);
    for (const w of list) {
      if (ok) w.resolve();
      else w.reject(w.error);
    }
  }, []);

  return (
    <ReauthContext.Provider value={run}>
      {children}
      {open ? <ReauthDialog onDone={() => settle(true)} onCancel={() => settle(false)} /> : null}
    </ReauthContext.Provider>
  );
}

/** Runs an admin action; a `reauthentication_required` refusal asks for a sign-in and retries. */
export function useReauth(): Run {
  const run = useContext(ReauthContext);
  if (!run) throw new Error('useReauth outside ReauthProvider');
  return run;
}

const METHOD_ORDER: readonly MfaMethod[] = ['totp', 'sms', 'recovery_code'];

function ReauthDialog({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const { client, user } = useAuth();
  const { t, problem } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const [password, setPassword] = useState('');
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);
  const [method, setMethod] = useState<MfaMethod>('totp');
  const [code, setCode] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [smsSent, setSmsSent] = useState(false);
  const [busy, setBusy] = useState(false);
  const oldSession = useRef<string | null>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
    dialog?.querySelector<HTMLInputElement>('input:not([hidden])')?.focus();
  }, [challenge]);

  /** The session the new sign-in replaces; ended once the new one exists (best effort). */
  async function rememberSession() {
    try {
      oldSession.current = (await client.sessions()).find((s) => s.current)?.id ?? null;
    } catch {
      oldSession.current = null;
    }
  }

  async function finish() {
    const old = oldSession.current;
    if (old) await client.revokeSession(old).catch(() => undefined);
    onDone();
  }

  async function onPassword(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    if (!password) return setFieldError(t('validation.required'));
    if (!user) return setFormError(problem(new ApiError({ code: 'unauthenticated', status: 401 })));
    setFieldError(null);
    setBusy(true);
    try {
      await rememberSession();
      const result = await client.login(user.email, password);
      setPassword('');
      if (result.status === 'mfa-required') {
        const methods = METHOD_ORDER.filter((m) => result.challenge.methods.includes(m));
        setMethod(methods[0] ?? 'totp');
        setChallenge(result.challenge);
        setBusy(false);
        return;
      }
      await finish();
    } catch (error) {
      setBusy(false);
      if (error instanceof ApiError && error.code === 'invalid_credentials') {
        setPassword('');
        setFieldError(problem(error));
      } else {
        setFormError(problem(error));
      }
    }
  }

  async function sendSms() {
    if (!challenge) return;
    setFormError(null);
    try {
      await client.mfaSendSms(challenge.mfa_token);
      setSmsSent(true);
    } catch (error) {
      setFormError(problem(error));
    }
  }

  async function onCode(event: FormEvent) {
    event.preventDefault();
    if (!challenge) return;
    setFormError(null);
    const value = method === 'recovery_code' ? code.trim() : normalizeCode(code);
    if (!value) return setFieldError(t('validation.required'));
    if (method !== 'recovery_code' && !CODE_PATTERN.test(value)) return setFieldError(t('mfa.codeFormat'));
    setFieldError(null);
    setBusy(true);
    try {
      await client.mfaVerify(challenge.mfa_token, method, value);
      await finish();
    } catch (error) {
      setBusy(false);
      setCode('');
      if (error instanceof ApiError && (error.code === 'invalid_mfa_token' || error.code === 'code_attempts_exceeded')) {
        // This challenge is over: start again from the password.
        setChallenge(null);
        setFormError(t(`mfa.error.${error.code}`));
      } else if (error instanceof ApiError && error.code === 'invalid_code') {
        setFieldError(t('mfa.error.invalid_code'));
      } else {
        setFormError(problem(error));
      }
    }
  }

  const methods = challenge ? METHOD_ORDER.filter((m) => challenge.methods.includes(m)) : [];

  return (
    <dialog
      ref={ref}
      className="reauth"
      aria-labelledby="reauth-title"
      aria-describedby="reauth-body"
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <h2 id="reauth-title">{t('reauth.title')}</h2>
      <p id="reauth-body">{t('reauth.body', { email: user?.email ?? '' })}</p>
      <FormError message={formError} />
      {challenge === null ? (
        <form onSubmit={onPassword} noValidate>
          <input type="text" name="username" autoComplete="username" value={user?.email ?? ''} readOnly hidden />
          <Field label={t('field.password')} name="password" type="password" autoComplete="current-password" required
            value={password} onChange={(e) => { setPassword(e.target.value); setFieldError(null); }} error={fieldError} />
          <div className="actions">
            <button type="submit" className="primary-inline" disabled={busy}>
              {busy ? t('login.submitting') : t('reauth.submit')}
            </button>
            <button type="button" onClick={onCancel} disabled={busy}>{t('reauth.cancel')}</button>
          </div>
        </form>
      ) : (
        <form onSubmit={onCode} noValidate>
          {methods.length > 1 ? (
            <fieldset className="choices">
              <legend>{t('mfa.methods')}</legend>
              {methods.map((m) => (
                <div className="check" key={m}>
                  <input id={`reauth-method-${m}`} type="radio" name="reauth-method" value={m} checked={method === m}
                    onChange={() => { setMethod(m); setCode(''); setFieldError(null); }} />
                  <label htmlFor={`reauth-method-${m}`}>{t(`mfa.method.${m}`)}</label>
                </div>
              ))}
            </fieldset>
          ) : null}
          {method === 'sms' ? (
            <p>
              <button type="button" onClick={() => void sendSms()}>{smsSent ? t('mfa.smsResend') : t('mfa.smsSend')}</button>
            </p>
          ) : null}
          <Notice message={method === 'sms' && smsSent ? t('mfa.smsSent') : null} />
          <Field key={method} name="code" type="text" spellCheck={false} required value={code}
            label={method === 'recovery_code' ? t('mfa.recoveryLabel') : method === 'sms' ? t('mfa.smsLabel') : t('mfa.totpLabel')}
            inputMode={method === 'recovery_code' ? undefined : 'numeric'}
            autoComplete={method === 'recovery_code' ? 'off' : 'one-time-code'}
            onChange={(e) => { setCode(e.target.value); setFieldError(null); }} error={fieldError} />
          <div className="actions">
            <button type="submit" className="primary-inline" disabled={busy}>
              {busy ? t('mfa.submitting') : t('reauth.submit')}
            </button>
            <button type="button" onClick={onCancel} disabled={busy}>{t('reauth.cancel')}</button>
          </div>
        </form>
      )}
    </dialog>
  );
}
