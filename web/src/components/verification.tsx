// Pieces shared by the pages that confirm an e-mail address: the 6-digit code form, the
// "send the e-mail again" form with its cooldown, and what to show once an address is confirmed.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { ApiError, type VerifyEmailResult } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { useI18n } from '../i18n/I18nProvider';
import { CODE_PATTERN, EMAIL_PATTERN, normalizeCode } from '../pages/validation';
import { Field, focusFirstInvalid, FormError, Notice, PageTitle, splitError } from './forms';

/** The server sends at most one mail of a kind to an address per minute (`verification.resend_cooldown`). */
export const RESEND_COOLDOWN_SECONDS = 60;

/** Seconds left until `until` (ms since the epoch), ticking once a second while positive. */
export function useCooldown(initialUntil = 0) {
  const [until, setUntil] = useState(initialUntil);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until <= Date.now()) return;
    const timer = setInterval(() => {
      const t = Date.now();
      setNow(t);
      if (t >= until) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [until]);
  return {
    remaining: Math.max(0, Math.ceil((until - now) / 1000)),
    start(seconds: number) {
      const t = Date.now();
      setNow(t);
      setUntil(t + seconds * 1000);
    },
  };
}

/**
 * What happens once an address is confirmed: when the server signed the user in, go to the
 * profile; otherwise `done` holds the result for <Verified>.
 */
export function useVerificationOutcome() {
  const { client, reloadUser } = useAuth();
  const navigate = useNavigate();
  const [done, setDone] = useState<VerifyEmailResult | null>(null);
  function finish(result: VerifyEmailResult) {
    if (result.signedIn) {
      navigate('/profile', { replace: true, state: { verifiedEmail: result.email } });
      return;
    }
    // A signed-in user who confirmed a new address sees it at once.
    if (result.purpose === 'change_email' && client.state === 'signed-in') void reloadUser();
    setDone(result);
  }
  return { done, finish };
}

/** "E-mail verified" (or "address changed"), with the way on. */
export function Verified({ result }: { result: VerifyEmailResult }) {
  const { t } = useI18n();
  const { status } = useAuth();
  const changed = result.purpose === 'change_email';
  return (
    <section className="card">
      <PageTitle>{changed ? t('verify.changedTitle') : t('verify.doneTitle')}</PageTitle>
      <Notice message={changed ? t('verify.changedBody', { email: result.email }) : t('verify.doneBody', { email: result.email })} />
      <p>
        {status === 'signed-in' ? (
          <Link className="button" to="/profile">
            {t('verify.toProfile')}
          </Link>
        ) : (
          <Link className="button" to="/login">
            {t('verify.login')}
          </Link>
        )}
      </p>
    </section>
  );
}

type CodeField = 'email' | 'code';

/** E-mail address + the 6-digit code from the message. */
export function CodeForm({ initialEmail = '', onVerified }: { initialEmail?: string; onVerified: (r: VerifyEmailResult) => void }) {
  const { client } = useAuth();
  const { t, problem } = useI18n();
  const [email, setEmail] = useState(initialEmail);
  const [code, setCode] = useState('');
  const [errors, setErrors] = useState<Partial<Record<CodeField, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const address = email.trim();
    const digits = normalizeCode(code);
    const found: Partial<Record<CodeField, string>> = {};
    if (!address) found.email = t('validation.required');
    else if (!EMAIL_PATTERN.test(address)) found.email = t('validation.email');
    if (!digits) found.code = t('validation.required');
    else if (!CODE_PATTERN.test(digits)) found.code = t('code.format');
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(formRef);
    setBusy(true);
    try {
      onVerified(await client.verifyEmail({ email: address, code: digits }));
    } catch (error) {
      const split = splitError(error, ['email', 'code'] as const, problem);
      const field =
        split.field ??
        (error instanceof ApiError
          ? error.code === 'invalid_code' || error.code === 'code_attempts_exceeded'
            ? 'code'
            : error.code === 'invalid_email'
              ? 'email'
              : null
          : null);
      if (field) {
        setErrors({ [field]: split.text });
        focusFirstInvalid(formRef);
      } else {
        setFormError(split.text);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form ref={formRef} onSubmit={onSubmit} noValidate>
      <FormError message={formError} />
      <Field label={t('field.email')} name="email" type="email" autoComplete="email" inputMode="email" required
        value={email} onChange={(e) => { setEmail(e.target.value); setErrors((x) => ({ ...x, email: undefined })); }}
        error={errors.email} />
      <Field label={t('code.label')} name="code" type="text" inputMode="numeric" autoComplete="one-time-code"
        spellCheck={false} required value={code}
        onChange={(e) => { setCode(e.target.value); setErrors((x) => ({ ...x, code: undefined })); }}
        error={errors.code} hint={t('code.hint')} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? t('code.submitting') : t('code.submit')}
      </button>
    </form>
  );
}

/**
 * "Send the e-mail again". With a known address it is one button; without, it asks for the
 * address. After a send (or a 429) the button rests for the cooldown.
 */
export function ResendVerification({ heading, email: knownEmail, sentAt }: { heading: string; email?: string; sentAt?: number }) {
  const { client } = useAuth();
  const { t, problem } = useI18n();
  const headingId = useId();
  const [email, setEmail] = useState(knownEmail ?? '');
  const [emailError, setEmailError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const cooldown = useCooldown(sentAt ? sentAt + RESEND_COOLDOWN_SECONDS * 1000 : 0);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    setSent(null);
    const address = (knownEmail ?? email).trim();
    if (!address) return setEmailError(t('validation.required'));
    if (!EMAIL_PATTERN.test(address)) return setEmailError(t('validation.email'));
    setEmailError(null);
    setBusy(true);
    try {
      await client.resendVerification(address);
      setSent(t('resend.sent'));
      cooldown.start(RESEND_COOLDOWN_SECONDS);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'rate_limited' && error.retryAfter) cooldown.start(error.retryAfter);
      const split = splitError(error, ['email'] as const, problem);
      const onEmail = split.field || (error instanceof ApiError && error.code === 'invalid_email');
      if (onEmail && knownEmail === undefined) setEmailError(split.text);
      else setFormError(split.text);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{heading}</h2>
      <form onSubmit={onSubmit} noValidate>
        <FormError message={formError} />
        {knownEmail === undefined ? (
          <Field label={t('field.email')} name="email" type="email" autoComplete="email" inputMode="email" required
            value={email} onChange={(e) => { setEmail(e.target.value); setEmailError(null); }} error={emailError} />
        ) : null}
        <button type="submit" disabled={busy || cooldown.remaining > 0}>
          {busy ? t('resend.sending') : t('resend.button')}
        </button>
        {cooldown.remaining > 0 ? <p className="muted">{t('resend.wait', { seconds: cooldown.remaining })}</p> : null}
        <Notice message={sent} />
      </form>
    </section>
  );
}
