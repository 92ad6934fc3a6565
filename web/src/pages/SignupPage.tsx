import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { Field, focusFirstInvalid, FormError, PageTitle, splitError } from '../components/forms';
import { useI18n } from '../i18n/I18nProvider';
import { MIN_PASSWORD_LENGTH, passwordStrength } from '../password/strength';
import type { CheckEmailState } from './CheckEmailPage';
import { EMAIL_PATTERN, MAX_NAME_LENGTH } from './validation';

const FIELDS = ['name', 'email', 'password', 'confirm'] as const;
type FieldName = (typeof FIELDS)[number];
type Errors = Partial<Record<FieldName, string>>;

export function StrengthHint({ password, related }: { password: string; related: string[] }) {
  const { t } = useI18n();
  const score = passwordStrength(password, related);
  return (
    <>
      <span>{t('strength.hint')}</span>
      {password ? (
        <span className="strength">
          <meter min={0} max={4} low={2} high={3} optimum={4} value={score} aria-hidden="true" />
          <span aria-live="polite">{t('strength.label', { level: t(`strength.${score}`) })}</span>
        </span>
      ) : null}
    </>
  );
}

export function SignupPage() {
  const { client } = useAuth();
  const { t, problem } = useI18n();
  const navigate = useNavigate();
  const [values, setValues] = useState<Record<FieldName, string>>({ name: '', email: '', password: '', confirm: '' });
  const [errors, setErrors] = useState<Errors>({});
  const [detail, setDetail] = useState<{ field: FieldName; text: string } | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  const set = (field: FieldName) => (value: string) => {
    setValues((v) => ({ ...v, [field]: value }));
    setErrors((e) => ({ ...e, [field]: undefined }));
    if (detail?.field === field) setDetail(null);
  };

  function validate(): Errors {
    const found: Errors = {};
    if (!values.name.trim()) found.name = t('validation.required');
    else if (Array.from(values.name).length > MAX_NAME_LENGTH) found.name = t('validation.nameLong', { max: MAX_NAME_LENGTH });
    if (!values.email.trim()) found.email = t('validation.required');
    else if (!EMAIL_PATTERN.test(values.email.trim())) found.email = t('validation.email');
    if (!values.password) found.password = t('validation.required');
    else if (Array.from(values.password).length < MIN_PASSWORD_LENGTH)
      found.password = t('validation.passwordShort', { min: MIN_PASSWORD_LENGTH });
    if (!values.confirm) found.confirm = t('validation.required');
    else if (values.confirm !== values.password) found.confirm = t('validation.mismatch');
    return found;
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    setDetail(null);
    const found = validate();
    setErrors(found);
    if (Object.keys(found).length > 0) {
      focusFirstInvalid(formRef);
      return;
    }
    setBusy(true);
    try {
      const email = values.email.trim();
      const result = await client.signup(email, values.password, values.name.trim());
      const state: CheckEmailState = { email, verificationRequired: result?.verification_required !== false, sentAt: Date.now() };
      navigate('/check-email', { state });
    } catch (error) {
      const split = splitError(error, FIELDS, problem);
      if (split.field) {
        setErrors({ [split.field]: split.text });
        if (split.detail) setDetail({ field: split.field, text: split.detail });
        focusFirstInvalid(formRef);
      } else {
        setFormError(split.text);
      }
    } finally {
      setBusy(false);
    }
  }

  const related = [values.name, values.email.split('@')[0] ?? ''];
  return (
    <section className="card">
      <PageTitle>{t('signup.title')}</PageTitle>
      <form ref={formRef} onSubmit={onSubmit} noValidate>
        <FormError message={formError} />
        <Field label={t('field.name')} name="name" autoComplete="name" required value={values.name}
          onChange={(e) => set('name')(e.target.value)} error={errors.name}
          hint={detail?.field === 'name' ? detail.text : undefined} />
        <Field label={t('field.email')} name="email" type="email" autoComplete="email" inputMode="email" required
          value={values.email} onChange={(e) => set('email')(e.target.value)} error={errors.email}
          hint={detail?.field === 'email' ? detail.text : undefined} />
        <Field label={t('field.password')} name="password" type="password" autoComplete="new-password" required
          value={values.password} onChange={(e) => set('password')(e.target.value)} error={errors.password}
          hint={
            <>
              <StrengthHint password={values.password} related={related} />
              {detail?.field === 'password' ? <span className="server-detail">{detail.text}</span> : null}
            </>
          } />
        <Field label={t('field.confirm')} name="confirm" type="password" autoComplete="new-password" required
          value={values.confirm} onChange={(e) => set('confirm')(e.target.value)} error={errors.confirm} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('signup.submitting') : t('signup.submit')}
        </button>
      </form>
      <p className="alt">
        {t('signup.haveAccount')} <Link to="/login">{t('signup.loginLink')}</Link>
      </p>
    </section>
  );
}
