// Create a user: with a password the admin sets, or with an invite e-mail whose link lets the
// user choose one (and confirms the address).
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import type { NewUser } from '../../api/admin';
import { ApiError } from '../../api/problem';
import { Card, Field, focusFirstInvalid, FormError, PageTitle, splitError } from '../../components/forms';
import { useI18n } from '../../i18n/I18nProvider';
import { MIN_PASSWORD_LENGTH } from '../../password/strength';
import { EMAIL_PATTERN, MAX_NAME_LENGTH } from '../validation';
import { useAdminApi } from './AdminLayout';

type Fields = 'email' | 'name' | 'password';

export function newUserBody(form: { email: string; name: string; password: string; verified: boolean; invite: boolean; roles: string[] }): NewUser {
  const body: NewUser = { email: form.email.trim(), roles: form.roles.length > 0 ? form.roles : ['user'] };
  if (form.name.trim()) body.name = form.name.trim();
  if (form.invite) body.send_invite = true;
  else if (form.password) body.password = form.password;
  if (form.verified) body.email_verified = true;
  return body;
}

export function CreateUserPage() {
  const api = useAdminApi();
  const navigate = useNavigate();
  const { t, problem } = useI18n();
  const [form, setForm] = useState({ email: '', name: '', password: '', verified: false, invite: true, roles: ['user'] });
  const [roles, setRoles] = useState<string[]>(['user']);
  const [errors, setErrors] = useState<Partial<Record<Fields, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    api.roles().then((r) => setRoles(r.roles.map((x) => x.name)), () => undefined);
  }, [api]);

  function set<K extends keyof typeof form>(key: K, value: (typeof form)[K]) {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => ({ ...e, [key]: undefined }));
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const found: typeof errors = {};
    if (!form.email.trim()) found.email = t('validation.required');
    else if (!EMAIL_PATTERN.test(form.email.trim())) found.email = t('validation.email');
    if (Array.from(form.name.trim()).length > MAX_NAME_LENGTH) found.name = t('validation.nameLong', { max: MAX_NAME_LENGTH });
    if (!form.invite && form.password && Array.from(form.password).length < MIN_PASSWORD_LENGTH) {
      found.password = t('validation.passwordShort', { min: MIN_PASSWORD_LENGTH });
    }
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(formRef);
    setBusy(true);
    try {
      const user = await api.createUser(newUserBody(form));
      navigate(`/admin/users/${encodeURIComponent(user.id)}`, { state: { created: true } });
    } catch (err) {
      setBusy(false);
      const split = splitError(err, ['email', 'name', 'password'] as const, problem);
      const code = err instanceof ApiError ? err.code : null;
      const field = split.field ?? (code === 'conflict' || code === 'invalid_email' ? 'email' : code === 'weak_password' ? 'password' : null);
      if (field) {
        setErrors({ [field]: code === 'conflict' ? t('admin.user.emailTaken') : split.detail ? `${split.text} ${split.detail}` : split.text });
        focusFirstInvalid(formRef);
      } else setFormError(split.text);
    }
  }

  return (
    <div className="stack">
      <PageTitle>{t('admin.create.title')}</PageTitle>
      <Card title={t('admin.create.section')}>
        <form ref={formRef} onSubmit={onSubmit} noValidate>
          <FormError message={formError} />
          <Field label={t('field.email')} name="email" type="email" autoComplete="off" required value={form.email}
            onChange={(e) => set('email', e.target.value)} error={errors.email} />
          <Field label={t('admin.create.name')} name="name" autoComplete="off" value={form.name}
            onChange={(e) => set('name', e.target.value)} error={errors.name} />
          <fieldset className="choices">
            <legend>{t('admin.create.how')}</legend>
            <div className="check">
              <input id="create-invite" type="radio" name="how" checked={form.invite} onChange={() => set('invite', true)} />
              <label htmlFor="create-invite">{t('admin.create.invite')}</label>
            </div>
            <div className="check">
              <input id="create-password" type="radio" name="how" checked={!form.invite} onChange={() => set('invite', false)} />
              <label htmlFor="create-password">{t('admin.create.withPassword')}</label>
            </div>
          </fieldset>
          {form.invite ? null : (
            <Field label={t('admin.create.password')} name="password" type="password" autoComplete="new-password"
              value={form.password} onChange={(e) => set('password', e.target.value)} error={errors.password}
              hint={t('admin.create.passwordHint')} />
          )}
          <div className="check">
            <input id="create-verified" type="checkbox" checked={form.verified} onChange={(e) => set('verified', e.target.checked)} />
            <label htmlFor="create-verified">{t('admin.create.verified')}</label>
          </div>
          <fieldset className="choices">
            <legend>{t('admin.user.rolesLegend')}</legend>
            {roles.map((role) => (
              <div className="check" key={role}>
                <input id={`create-role-${role}`} type="checkbox" checked={form.roles.includes(role)}
                  onChange={(e) => set('roles', e.target.checked ? [...form.roles, role] : form.roles.filter((x) => x !== role))} />
                <label htmlFor={`create-role-${role}`}>{role}</label>
              </div>
            ))}
          </fieldset>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t('admin.create.submitting') : t('admin.create.submit')}
          </button>
        </form>
      </Card>
    </div>
  );
}
