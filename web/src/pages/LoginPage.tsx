import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { ApiError, type MfaChallenge, type Provider } from '../api/client';
import { errorFromQuery } from '../api/problem';
import { challengeFromFragment } from '../api/socialChallenge';
import { useAuth } from '../auth/AuthProvider';
import { Field, focusFirstInvalid, FormError, Notice, PageTitle, splitError } from '../components/forms';
import { useI18n } from '../i18n/I18nProvider';
import type { CheckEmailState } from './CheckEmailPage';
import { MfaStep } from './MfaStep';

const FIELDS = ['email', 'password'] as const;

type FieldName = (typeof FIELDS)[number];

export function LoginPage() {
  const { client, notice, setNotice } = useAuth();
  const { t, problem } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [providers, setProviders] = useState<Provider[]>([]);
  /** The address of an account that still waits for its confirmation (account_pending). */
  const [pendingEmail, setPendingEmail] = useState<string | null>(null);
  const [resending, setResending] = useState(false);
  /** The second step of this login, when the account has one (held in state only). A social
   * login hands it over in the address fragment, read once here. */
  const [challenge, setChallenge] = useState<MfaChallenge | null>(() => challengeFromFragment(window.location.hash));
  const formRef = useRef<HTMLFormElement>(null);
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  /** A failed social login comes back as /login?error=<code>: shown until the next attempt. */
  const [returnedError, setReturnedError] = useState<ApiError | null>(() => errorFromQuery(params.get('error')));

  useEffect(() => {
    if (!params.has('error')) return;
    setReturnedError(errorFromQuery(params.get('error')));
    // Shown once: a reload or a bookmark of the page does not repeat it.
    const next = new URLSearchParams(params);
    next.delete('error');
    setParams(next, { replace: true });
  }, [params, setParams]);

  useEffect(() => {
    // The one-time token must not stay in the address bar or the history.
    if (window.location.hash.includes('mfa_token=')) {
      window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
    }
  }, []);

  useEffect(() => {
    let alive = true;
    client.providers().then(
      (list) => alive && setProviders(list),
      () => undefined,
    );
    return () => {
      alive = false;
    };
  }, [client]);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    setReturnedError(null);
    setPendingEmail(null);
    const found: Partial<Record<FieldName, string>> = {};
    if (!email.trim()) found.email = t('validation.required');
    if (!password) found.password = t('validation.required');
    setErrors(found);
    if (Object.keys(found).length > 0) {
      focusFirstInvalid(formRef);
      return;
    }
    setBusy(true);
    try {
      const result = await client.login(email.trim(), password);
      setNotice(null);
      setPassword('');
      if (result.status === 'mfa-required') setChallenge(result.challenge);
      // RedirectIfSignedIn moves on to the page the visitor came for.
    } catch (error) {
      const split = splitError(error, FIELDS, problem);
      if (split.field) setErrors({ [split.field]: split.text });
      else setFormError(split.text);
      if (error instanceof ApiError && error.code === 'account_pending') setPendingEmail(email.trim());
      setPassword('');
    } finally {
      setBusy(false);
    }
  }

  async function resend() {
    if (!pendingEmail) return;
    setResending(true);
    try {
      await client.resendVerification(pendingEmail);
      const state: CheckEmailState = { email: pendingEmail, resent: true, sentAt: Date.now() };
      navigate('/check-email', { state });
    } catch (error) {
      setFormError(problem(error));
      setResending(false);
    }
  }

  if (challenge) {
    return (
      <MfaStep challenge={challenge} onRestart={(message) => {
        setChallenge(null);
        setFormError(message || null);
      }} />
    );
  }

  return (
    <section className="card">
      <PageTitle>{t('login.title')}</PageTitle>
      {notice ? <Notice message={t(`login.notice.${notice}`)} /> : null}
      <form ref={formRef} onSubmit={onSubmit} noValidate>
        <FormError message={formError ?? (returnedError ? problem(returnedError) : null)} />
        {pendingEmail ? (
          <p>
            <button type="button" onClick={() => void resend()} disabled={resending}>
              {resending ? t('resend.sending') : t('login.resend')}
            </button>
          </p>
        ) : null}
        <Field label={t('field.email')} name="email" type="email" autoComplete="username" inputMode="email" required
          value={email} onChange={(e) => { setEmail(e.target.value); setErrors((x) => ({ ...x, email: undefined })); setPendingEmail(null); }}
          error={errors.email} />
        <Field label={t('field.password')} name="password" type="password" autoComplete="current-password" required
          value={password} onChange={(e) => { setPassword(e.target.value); setErrors((x) => ({ ...x, password: undefined })); }}
          error={errors.password} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('login.submitting') : t('login.submit')}
        </button>
      </form>
      <p className="alt">
        <Link to="/forgot-password">{t('login.forgot')}</Link>
      </p>
      <p className="alt">
        <Link to="/login/sms">{t('login.smsLink')}</Link>
      </p>
      {providers.length > 0 ? (
        <div className="providers">
          <h2>{t('login.providers')}</h2>
          <ul>
            {providers.map((p) => (
              <li key={p.id}>
                <a className="button" href={client.socialStartUrl(p.id, `${window.location.origin}/profile`)}>
                  {t('login.provider', { name: p.name })}
                </a>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <p className="alt">
        {t('login.noAccount')} <Link to="/signup">{t('login.signupLink')}</Link>
      </p>
    </section>
  );
}
