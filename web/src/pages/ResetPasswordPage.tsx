import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { ApiError } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { Field, focusFirstInvalid, FormError, Notice, PageTitle, splitError } from '../components/forms';
import { useI18n } from '../i18n/I18nProvider';
import { MIN_PASSWORD_LENGTH } from '../password/strength';
import { StrengthHint } from './SignupPage';

type FieldName = 'password' | 'confirm';

/** Answers that mean the link itself is no good: the form cannot help, a new link can. */
function isLinkProblem(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  return (
    error.code === 'verification_token_invalid' ||
    error.code === 'verification_token_unknown' ||
    error.code === 'verification_token_expired' ||
    error.code === 'verification_token_used' ||
    (error.code === 'invalid_field' && error.field === 'token')
  );
}

/** /reset-password?token=… from the mailed link: choose a new password. */
export function ResetPasswordPage() {
  const { client } = useAuth();
  const { t, problem } = useI18n();
  const [params, setParams] = useSearchParams();
  const [token] = useState(() => params.get('token') ?? '');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [detail, setDetail] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [linkError, setLinkError] = useState<string | null>(null);
  const [changed, setChanged] = useState(false);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  // The token is a credential: keep it out of the address bar and the history once read.
  useEffect(() => {
    if (params.has('token')) {
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          next.delete('token');
          return next;
        },
        { replace: true },
      );
    }
  }, [params, setParams]);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    setDetail(null);
    const found: Partial<Record<FieldName, string>> = {};
    if (!password) found.password = t('validation.required');
    else if (Array.from(password).length < MIN_PASSWORD_LENGTH) found.password = t('validation.passwordShort', { min: MIN_PASSWORD_LENGTH });
    if (!confirm) found.confirm = t('validation.required');
    else if (confirm !== password) found.confirm = t('validation.mismatch');
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(formRef);
    setBusy(true);
    try {
      await client.resetPassword(token, password);
      // The server ended every session of the account; if this tab had one, it is gone too.
      if (client.state === 'signed-in') await client.logout().catch(() => undefined);
      setChanged(true);
    } catch (error) {
      if (isLinkProblem(error)) {
        setLinkError(error instanceof ApiError && error.code === 'invalid_field' ? t('problem.verification_token_invalid') : problem(error));
        return;
      }
      const split = splitError(error, ['password'] as const, problem);
      const onPassword = split.field ?? (error instanceof ApiError && error.code === 'weak_password' ? 'password' : null);
      if (onPassword) {
        setErrors({ password: split.text });
        if (error instanceof ApiError && error.detail && error.code === 'weak_password') setDetail(error.detail);
        focusFirstInvalid(formRef);
      } else {
        setFormError(split.text);
      }
    } finally {
      setBusy(false);
    }
  }

  if (changed) {
    return (
      <section className="card">
        <PageTitle>{t('reset.doneTitle')}</PageTitle>
        <Notice message={t('reset.doneBody')} />
        <p>
          <Link className="button" to="/login">
            {t('reset.login')}
          </Link>
        </p>
      </section>
    );
  }

  if (!token || linkError) {
    return (
      <section className="card">
        <PageTitle>{t('reset.title')}</PageTitle>
        {linkError ? <FormError message={linkError} /> : <p>{t('reset.noToken')}</p>}
        <p>
          <Link className="button" to="/forgot-password">
            {t('reset.newLink')}
          </Link>
        </p>
      </section>
    );
  }

  return (
    <section className="card">
      <PageTitle>{t('reset.title')}</PageTitle>
      <form ref={formRef} onSubmit={onSubmit} noValidate>
        <FormError message={formError} />
        <Field label={t('field.new')} name="password" type="password" autoComplete="new-password" required
          value={password} onChange={(e) => { setPassword(e.target.value); setErrors((x) => ({ ...x, password: undefined })); setDetail(null); }}
          error={errors.password}
          hint={
            <>
              <StrengthHint password={password} related={[]} />
              {detail ? <span className="server-detail">{detail}</span> : null}
            </>
          } />
        <Field label={t('field.confirmNew')} name="confirm" type="password" autoComplete="new-password" required
          value={confirm} onChange={(e) => { setConfirm(e.target.value); setErrors((x) => ({ ...x, confirm: undefined })); }}
          error={errors.confirm} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('reset.submitting') : t('reset.submit')}
        </button>
      </form>
    </section>
  );
}
