import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { ApiError } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { Field, FormError, Notice, PageTitle, splitError } from '../components/forms';
import { useI18n } from '../i18n/I18nProvider';
import { EMAIL_PATTERN } from './validation';

/** Asks for a reset link. The answer never tells whether the address has an account. */
export function ForgotPasswordPage() {
  const { client } = useAuth();
  const { t, problem } = useI18n();
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const address = email.trim();
    if (!address) return setError(t('validation.required'));
    if (!EMAIL_PATTERN.test(address)) return setError(t('validation.email'));
    setError(null);
    setBusy(true);
    try {
      await client.forgotPassword(address);
      setSentTo(address);
    } catch (err) {
      const split = splitError(err, ['email'] as const, problem);
      if (split.field || (err instanceof ApiError && err.code === 'invalid_email')) setError(split.text);
      else setFormError(split.text);
    } finally {
      setBusy(false);
    }
  }

  if (sentTo) {
    return (
      <section className="card">
        <PageTitle>{t('forgot.sentTitle')}</PageTitle>
        <Notice message={t('forgot.sentBody', { email: sentTo })} />
        <p className="muted">{t('checkEmail.spam')}</p>
        <p>
          <Link className="button" to="/login">
            {t('forgot.back')}
          </Link>
        </p>
      </section>
    );
  }

  return (
    <section className="card">
      <PageTitle>{t('forgot.title')}</PageTitle>
      <p>{t('forgot.intro')}</p>
      <form onSubmit={onSubmit} noValidate>
        <FormError message={formError} />
        <Field label={t('field.email')} name="email" type="email" autoComplete="username" inputMode="email" required
          value={email} onChange={(e) => { setEmail(e.target.value); setError(null); }} error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('forgot.submitting') : t('forgot.submit')}
        </button>
      </form>
      <p className="alt">
        <Link to="/login">{t('forgot.back')}</Link>
      </p>
    </section>
  );
}
