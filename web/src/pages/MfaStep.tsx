// The second step of a login: a code from an authenticator app, a recovery code, or a code
// texted to the account's phone. The mfa_token lives only in the props/state of this component
// tree; it is never stored anywhere else.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, type MfaChallenge, type MfaMethod } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { Field, FormError, Notice, PageTitle } from '../components/forms';
import { RESEND_COOLDOWN_SECONDS, useCooldown } from '../components/verification';
import { useI18n } from '../i18n/I18nProvider';
import { CODE_PATTERN, normalizeCode } from './validation';

/** Prefer the app, then a texted code; a recovery code is the way out. */
const ORDER: readonly MfaMethod[] = ['totp', 'sms', 'recovery_code'];

export function MfaStep({ challenge, onRestart }: { challenge: MfaChallenge; onRestart: (message: string) => void }) {
  const { client, setNotice } = useAuth();
  const { t, problem } = useI18n();
  const methods = ORDER.filter((m) => challenge.methods.includes(m));
  const [method, setMethod] = useState<MfaMethod>(methods[0] ?? 'totp');
  const [code, setCode] = useState('');
  const [codeError, setCodeError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [smsSent, setSmsSent] = useState(false);
  const [smsBusy, setSmsBusy] = useState(false);
  const cooldown = useCooldown();
  const codeRef = useRef<HTMLFormElement>(null);
  const restartRef = useRef(onRestart);
  restartRef.current = onRestart;

  // The challenge dies after expires_in seconds: go back before the server says so.
  const [deadline] = useState(() => (challenge.expires_in > 0 ? Date.now() + challenge.expires_in * 1000 : 0));
  const expiredMessage = t('mfa.error.invalid_mfa_token');
  const expiredRef = useRef(expiredMessage);
  expiredRef.current = expiredMessage;
  useEffect(() => {
    if (!deadline) return;
    const timer = setTimeout(() => restartRef.current(expiredRef.current), Math.max(0, deadline - Date.now()));
    return () => clearTimeout(timer);
  }, [deadline]);

  function choose(next: MfaMethod) {
    setMethod(next);
    setCode('');
    setCodeError(null);
    setFormError(null);
  }

  function focusCode() {
    requestAnimationFrame(() => codeRef.current?.querySelector<HTMLInputElement>('input[name="code"]')?.focus());
  }

  /** Errors that end this challenge send the visitor back to the password step. */
  function handle(error: unknown): void {
    if (error instanceof ApiError) {
      if (error.code === 'invalid_mfa_token') return onRestart(t('mfa.error.invalid_mfa_token'));
      if (error.code === 'code_attempts_exceeded') return onRestart(t('mfa.error.code_attempts_exceeded'));
      if (error.code === 'invalid_code') {
        setCodeError(t('mfa.error.invalid_code'));
        return focusCode();
      }
      if (error.code === 'rate_limited' && error.retryAfter && method === 'sms') cooldown.start(error.retryAfter);
    }
    setFormError(problem(error));
  }

  async function sendSms() {
    setFormError(null);
    setSmsBusy(true);
    try {
      await client.mfaSendSms(challenge.mfa_token);
      setSmsSent(true);
      cooldown.start(RESEND_COOLDOWN_SECONDS);
      focusCode();
    } catch (error) {
      handle(error);
    } finally {
      setSmsBusy(false);
    }
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const value = method === 'recovery_code' ? code.trim() : normalizeCode(code);
    if (!value) {
      setCodeError(t('validation.required'));
      return focusCode();
    }
    if (method !== 'recovery_code' && !CODE_PATTERN.test(value)) {
      setCodeError(t('mfa.codeFormat'));
      return focusCode();
    }
    setCodeError(null);
    setBusy(true);
    try {
      await client.mfaVerify(challenge.mfa_token, method, value);
      setNotice(null);
      // RedirectIfSignedIn moves on to the page the visitor came for.
    } catch (error) {
      setCode('');
      handle(error);
      setBusy(false);
    }
  }

  const codeField =
    method === 'recovery_code' ? (
      <Field key="recovery" label={t('mfa.recoveryLabel')} name="code" type="text" autoComplete="off"
        autoCapitalize="none" spellCheck={false} required value={code}
        onChange={(e) => { setCode(e.target.value); setCodeError(null); }}
        error={codeError} hint={t('mfa.recoveryHint')} />
    ) : (
      <Field key={method} label={method === 'sms' ? t('mfa.smsLabel') : t('mfa.totpLabel')} name="code" type="text"
        inputMode="numeric" autoComplete="one-time-code" spellCheck={false} required value={code}
        onChange={(e) => { setCode(e.target.value); setCodeError(null); }}
        error={codeError} hint={method === 'sms' ? undefined : t('mfa.totpHint')} />
    );

  return (
    <section className="card">
      <PageTitle>{t('mfa.title')}</PageTitle>
      <p>{t('mfa.intro')}</p>
      <FormError message={formError} />
      {methods.length > 1 ? (
        <fieldset className="choices">
          <legend>{t('mfa.methods')}</legend>
          {methods.map((m) => (
            <div className="check" key={m}>
              <input id={`mfa-method-${m}`} type="radio" name="mfa-method" value={m} checked={method === m}
                onChange={() => choose(m)} />
              <label htmlFor={`mfa-method-${m}`}>{t(`mfa.method.${m}`)}</label>
            </div>
          ))}
        </fieldset>
      ) : null}
      {method === 'sms' ? (
        <div className="sms-send">
          <p className="muted">{t('mfa.smsHint')}</p>
          <button type="button" onClick={() => void sendSms()} disabled={smsBusy || cooldown.remaining > 0}>
            {smsBusy ? t('mfa.smsSending') : smsSent ? t('mfa.smsResend') : t('mfa.smsSend')}
          </button>
          {cooldown.remaining > 0 ? <p className="muted">{t('mfa.smsWait', { seconds: cooldown.remaining })}</p> : null}
          <Notice message={smsSent ? t('mfa.smsSent') : null} />
        </div>
      ) : null}
      {method !== 'sms' || smsSent ? (
        <form ref={codeRef} onSubmit={onSubmit} noValidate>
          {codeField}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t('mfa.submitting') : t('mfa.submit')}
          </button>
        </form>
      ) : null}
      <p className="alt">
        <button type="button" className="link" onClick={() => onRestart('')}>
          {t('mfa.cancel')}
        </button>
      </p>
    </section>
  );
}
