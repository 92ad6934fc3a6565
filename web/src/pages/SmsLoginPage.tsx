// Sign-in with a code texted to the account's verified mobile number (POST /api/auth/sms/start,
// then /api/auth/sms/verify). The answer never tells whether the number has an account.
import { useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, type MfaChallenge } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { Field, FormError, Notice, PageTitle, focusFirstInvalid } from '../components/forms';
import { RESEND_COOLDOWN_SECONDS, useCooldown } from '../components/verification';
import { useI18n } from '../i18n/I18nProvider';
import { MfaStep } from './MfaStep';
import { CODE_PATTERN, normalizeCode } from './validation';

export function SmsLoginPage() {
  const { client, setNotice } = useAuth();
  const { t, problem } = useI18n();
  const [phone, setPhone] = useState('');
  /** The number the code went to (the code form is shown once it is set). */
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [errors, setErrors] = useState<Partial<Record<'phone' | 'code', string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);
  const cooldown = useCooldown();
  const formRef = useRef<HTMLFormElement>(null);

  async function send(event?: FormEvent) {
    event?.preventDefault();
    setFormError(null);
    const number = (sentTo ?? phone).trim();
    if (!number) {
      setErrors({ phone: t('validation.required') });
      focusFirstInvalid(formRef);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      await client.smsStart(number);
      setSentTo(number);
      setCode('');
      cooldown.start(RESEND_COOLDOWN_SECONDS);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'rate_limited' && error.retryAfter) cooldown.start(error.retryAfter);
      if (error instanceof ApiError && (error.field === 'phone' || error.code === 'invalid_field')) {
        setErrors({ phone: problem(error) });
        setSentTo(null);
      } else {
        setFormError(problem(error));
      }
    } finally {
      setBusy(false);
    }
  }

  async function verify(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const digits = normalizeCode(code);
    const found = !digits ? t('validation.required') : !CODE_PATTERN.test(digits) ? t('mfa.codeFormat') : null;
    if (found || !sentTo) {
      setErrors({ code: found ?? undefined });
      focusFirstInvalid(formRef);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const result = await client.smsLogin(sentTo, digits);
      setNotice(null);
      if (result.status === 'mfa-required') setChallenge(result.challenge);
      // Otherwise RedirectIfSignedIn moves on to the profile.
    } catch (error) {
      setCode('');
      const code = error instanceof ApiError ? error.code : null;
      if (code === 'invalid_code' || code === 'code_attempts_exceeded') setErrors({ code: t(`phone.error.${code}`) });
      else setFormError(problem(error));
    } finally {
      setBusy(false);
    }
  }

  if (challenge) {
    return (
      <MfaStep challenge={challenge} onRestart={(message) => {
        setChallenge(null);
        setSentTo(null);
        setFormError(message || null);
      }} />
    );
  }

  return (
    <section className="card">
      <PageTitle>{t('smsLogin.title')}</PageTitle>
      <p>{t('smsLogin.intro')}</p>
      <FormError message={formError} />
      {sentTo === null ? (
        <form ref={formRef} onSubmit={(e) => void send(e)} noValidate>
          <Field label={t('phone.label')} name="phone" type="tel" autoComplete="tel" inputMode="tel" required
            value={phone} onChange={(e) => { setPhone(e.target.value); setErrors({}); }} error={errors.phone} />
          <button type="submit" className="primary" disabled={busy || cooldown.remaining > 0}>
            {busy ? t('mfa.smsSending') : t('mfa.smsSend')}
          </button>
          {cooldown.remaining > 0 ? <p className="muted">{t('mfa.smsWait', { seconds: cooldown.remaining })}</p> : null}
        </form>
      ) : (
        <form ref={formRef} onSubmit={(e) => void verify(e)} noValidate>
          <div className="form-notice">
            <Notice message={t('smsLogin.sent', { phone: sentTo })} />
          </div>
          <Field label={t('phone.codeLabel')} name="code" type="text" inputMode="numeric" autoComplete="one-time-code"
            spellCheck={false} required value={code}
            onChange={(e) => { setCode(e.target.value); setErrors({}); }} error={errors.code} />
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? t('login.submitting') : t('login.submit')}
            </button>
            <button type="button" onClick={() => void send()} disabled={busy || cooldown.remaining > 0}>
              {t('mfa.smsResend')}
            </button>
            <button type="button" onClick={() => { setSentTo(null); setErrors({}); }}>{t('phone.change')}</button>
          </div>
          {cooldown.remaining > 0 ? <p className="muted">{t('mfa.smsWait', { seconds: cooldown.remaining })}</p> : null}
        </form>
      )}
      <p className="alt">
        <Link to="/login">{t('smsLogin.password')}</Link>
      </p>
    </section>
  );
}
