import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { useLocation } from 'react-router-dom';
import { ApiError, type SessionInfo } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { Card, Field, focusFirstInvalid, FormError, Notice, PageTitle, splitError } from '../components/forms';
import { SessionList } from '../components/SessionList';
import { useI18n } from '../i18n/I18nProvider';
import { useDateFormat } from '../i18n/useDateFormat';
import { LinkedAccountsSection } from './LinkedAccounts';
import { MIN_PASSWORD_LENGTH } from '../password/strength';
import { PhoneSection, TwoStepSection } from './SecuritySections';
import { StrengthHint } from './SignupPage';
import { EMAIL_PATTERN, MAX_NAME_LENGTH } from './validation';

function NameSection() {
  const { client, user, setUser } = useAuth();
  const { t, problem } = useI18n();
  const [name, setName] = useState(user?.name ?? '');
  const [error, setError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => setName(user?.name ?? ''), [user?.name]);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setSaved(null);
    setFormError(null);
    const trimmed = name.trim();
    if (!trimmed) return setError(t('validation.required'));
    if (Array.from(trimmed).length > MAX_NAME_LENGTH) return setError(t('validation.nameLong', { max: MAX_NAME_LENGTH }));
    setError(null);
    setBusy(true);
    try {
      setUser(await client.updateProfile(trimmed));
      setSaved(t('profile.nameSaved'));
    } catch (err) {
      const split = splitError(err, ['name'] as const, problem);
      if (split.field) setError(split.text);
      else setFormError(split.text);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('profile.nameSection')}>
      <form onSubmit={onSubmit} noValidate>
        <FormError message={formError} />
        <Field label={t('field.name')} name="name" autoComplete="name" required value={name}
          onChange={(e) => { setName(e.target.value); setError(null); }} error={error} />
        <button type="submit" disabled={busy}>{busy ? t('common.saving') : t('common.save')}</button>
        <Notice message={saved} />
      </form>
    </Card>
  );
}

function PasswordSection({ onChanged }: { onChanged: () => void }) {
  const { client, user } = useAuth();
  const { t, problem } = useI18n();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Partial<Record<'current' | 'new' | 'confirm', string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setDone(null);
    setFormError(null);
    const found: typeof errors = {};
    if (!current) found.current = t('validation.required');
    if (!next) found.new = t('validation.required');
    else if (Array.from(next).length < MIN_PASSWORD_LENGTH) found.new = t('validation.passwordShort', { min: MIN_PASSWORD_LENGTH });
    if (!confirm) found.confirm = t('validation.required');
    else if (confirm !== next) found.confirm = t('validation.mismatch');
    setErrors(found);
    if (Object.keys(found).length > 0) {
      focusFirstInvalid(formRef);
      return;
    }
    setBusy(true);
    try {
      await client.changePassword(current, next);
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone(t('password.changed'));
      onChanged();
    } catch (err) {
      const split = splitError(err, ['current', 'new'] as const, problem);
      // A wrong current password is reported on the "current" field.
      const field = split.field ?? (err instanceof Error && 'code' in err && err.code === 'invalid_credentials' ? 'current' : null);
      if (field) setErrors({ [field]: split.detail ? `${split.text} ${split.detail}` : split.text });
      else setFormError(split.text);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('password.section')}>
      <form ref={formRef} onSubmit={onSubmit} noValidate>
        <FormError message={formError} />
        <input type="text" name="username" autoComplete="username" value={user?.email ?? ''} readOnly hidden />
        <Field label={t('field.current')} name="current" type="password" autoComplete="current-password" required
          value={current} onChange={(e) => { setCurrent(e.target.value); setErrors((x) => ({ ...x, current: undefined })); }}
          error={errors.current} />
        <Field label={t('field.new')} name="new" type="password" autoComplete="new-password" required
          value={next} onChange={(e) => { setNext(e.target.value); setErrors((x) => ({ ...x, new: undefined })); }}
          error={errors.new}
          hint={<StrengthHint password={next} related={[user?.name ?? '', user?.email.split('@')[0] ?? '']} />} />
        <Field label={t('field.confirmNew')} name="confirm" type="password" autoComplete="new-password" required
          value={confirm} onChange={(e) => { setConfirm(e.target.value); setErrors((x) => ({ ...x, confirm: undefined })); }}
          error={errors.confirm} />
        <button type="submit" disabled={busy}>{t('password.submit')}</button>
        <Notice message={done} />
      </form>
    </Card>
  );
}

function ChangeEmailSection() {
  const { client, user } = useAuth();
  const { t, problem } = useI18n();
  const [newEmail, setNewEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Partial<Record<'new_email' | 'password', string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setSent(null);
    setFormError(null);
    const address = newEmail.trim();
    const found: typeof errors = {};
    if (!address) found.new_email = t('validation.required');
    else if (!EMAIL_PATTERN.test(address)) found.new_email = t('validation.email');
    else if (user && address.toLowerCase() === user.email.toLowerCase()) found.new_email = t('changeEmail.same');
    if (!password) found.password = t('validation.required');
    setErrors(found);
    if (Object.keys(found).length > 0) {
      focusFirstInvalid(formRef);
      return;
    }
    setBusy(true);
    try {
      const result = await client.changeEmail(address, password);
      setNewEmail('');
      setPassword('');
      setSent(t('changeEmail.sent', { email: result?.pending_email || address, current: user?.email ?? '' }));
    } catch (err) {
      const split = splitError(err, ['new_email', 'password'] as const, problem);
      const code = err instanceof ApiError ? err.code : null;
      const field =
        split.field ??
        (code === 'invalid_credentials' ? 'password' : code === 'invalid_email' || code === 'invalid_field' ? 'new_email' : null);
      if (field) setErrors({ [field]: split.detail && code === 'invalid_field' ? `${split.text} ${split.detail}` : split.text });
      else setFormError(split.text);
      if (code === 'invalid_credentials') setPassword('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('changeEmail.section')}>
      <p className="muted">{t('changeEmail.hint')}</p>
      <form ref={formRef} onSubmit={onSubmit} noValidate>
        <FormError message={formError} />
        <input type="text" name="username" autoComplete="username" value={user?.email ?? ''} readOnly hidden />
        <Field label={t('changeEmail.new')} name="new_email" type="email" autoComplete="email" inputMode="email" required
          value={newEmail} onChange={(e) => { setNewEmail(e.target.value); setErrors((x) => ({ ...x, new_email: undefined })); }}
          error={errors.new_email} />
        <Field label={t('field.current')} name="password" type="password" autoComplete="current-password" required
          value={password} onChange={(e) => { setPassword(e.target.value); setErrors((x) => ({ ...x, password: undefined })); }}
          error={errors.password} />
        <button type="submit" disabled={busy}>{busy ? t('changeEmail.submitting') : t('changeEmail.submit')}</button>
        <Notice message={sent} />
      </form>
    </Card>
  );
}

function SessionsSection({ reloadKey }: { reloadKey: number }) {
  const { client } = useAuth();
  const { t, problem } = useI18n();
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setSessions(await client.sessions());
      setError(null);
    } catch (err) {
      setError(problem(err));
    }
  }, [client, problem]);

  useEffect(() => {
    void load();
  }, [load, reloadKey]);

  async function revoke(id: string) {
    setBusyId(id);
    setDone(null);
    setError(null);
    try {
      await client.revokeSession(id);
      setSessions((list) => list?.filter((s) => s.id !== id) ?? null);
      setDone(t('sessions.revoked'));
    } catch (err) {
      setError(problem(err));
    } finally {
      setBusyId(null);
    }
  }

  /** Signs out every session but this one, one by one; stops at the first failure. */
  async function revokeOthers() {
    setBusyId('others');
    setDone(null);
    setError(null);
    try {
      for (const s of sessions?.filter((x) => !x.current) ?? []) {
        await client.revokeSession(s.id);
        setSessions((list) => list?.filter((x) => x.id !== s.id) ?? null);
      }
      setDone(t('sessions.othersRevoked'));
    } catch (err) {
      setError(problem(err));
      void load();
    } finally {
      setBusyId(null);
    }
  }

  const others = sessions?.filter((s) => !s.current) ?? [];
  return (
    <Card title={t('sessions.section')}>
      <FormError message={error} />
      {sessions === null && !error ? <p role="status">{t('common.loading')}</p> : null}
      {sessions !== null ? <SessionList sessions={sessions} busyId={busyId} onRevoke={(id) => void revoke(id)} /> : null}
      {sessions !== null && others.length === 0 ? <p className="muted">{t('sessions.none')}</p> : null}
      {others.length > 1 ? (
        <button type="button" onClick={() => void revokeOthers()} disabled={busyId !== null}>
          {t('sessions.revokeOthers')}
        </button>
      ) : null}
      <Notice message={done} />
    </Card>
  );
}

function LogoutSection() {
  const { client } = useAuth();
  const { t, problem } = useI18n();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(problem(err));
      setBusy(false);
    }
  }

  return (
    <Card title={t('logout.section')}>
      <FormError message={error} />
      <div className="actions">
        <button type="button" onClick={() => void run(() => client.logout())} disabled={busy}>
          {t('logout.button')}
        </button>
        <button type="button" onClick={() => void run(() => client.logoutAll())} disabled={busy} aria-describedby="logout-all-hint">
          {t('logout.all')}
        </button>
      </div>
      <p id="logout-all-hint" className="muted">{t('logout.allHint')}</p>
    </Card>
  );
}

function DeleteSection() {
  const { client, setNotice } = useAuth();
  const { t, problem } = useI18n();
  const [password, setPassword] = useState('');
  const [understood, setUnderstood] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    if (!password) return setError(t('validation.required'));
    setBusy(true);
    try {
      await client.deleteAccount(password);
      setNotice('deleted');
    } catch (err) {
      const split = splitError(err, ['password'] as const, problem);
      const isWrongPassword = err instanceof Error && 'code' in err && err.code === 'invalid_credentials';
      if (split.field || isWrongPassword) setError(split.text);
      else setFormError(split.text);
      setBusy(false);
    }
  }

  return (
    <Card title={t('delete.section')} className="danger">
      <p>{t('delete.warning')}</p>
      <form onSubmit={onSubmit} noValidate>
        <FormError message={formError} />
        <Field label={t('delete.password')} name="password" type="password" autoComplete="current-password" required
          value={password} onChange={(e) => { setPassword(e.target.value); setError(null); }} error={error} />
        <div className="check">
          <input id="delete-understand" type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.target.checked)} />
          <label htmlFor="delete-understand">{t('delete.understand')}</label>
        </div>
        <button type="submit" className="destructive" disabled={busy || !understood}>
          {t('delete.button')}
        </button>
      </form>
    </Card>
  );
}

export function ProfilePage() {
  const { user, userError, reloadUser } = useAuth();
  const { t, problem } = useI18n();
  const formatDate = useDateFormat();
  const [sessionsKey, setSessionsKey] = useState(0);
  // Set when a verification link signed the user in on its way here.
  const verifiedEmail = (useLocation().state as { verifiedEmail?: string } | null)?.verifiedEmail;

  return (
    <div className="stack">
      <PageTitle>{t('profile.title')}</PageTitle>
      {verifiedEmail ? <Notice message={t('profile.verifiedNotice', { email: verifiedEmail })} /> : null}
      <Card title={t('profile.summary')}>
        {user ? (
          <dl className="summary">
            <dt>{t('profile.email')}</dt>
            <dd>
              {user.email}{' '}
              <span className={user.email_verified ? 'badge ok' : 'badge warn'}>
                {user.email_verified ? t('profile.verified') : t('profile.notVerified')}
              </span>
            </dd>
            <dt>{t('profile.memberSince')}</dt>
            <dd>{formatDate(user.created_at)}</dd>
            {user.roles?.length ? (
              <>
                <dt>{t('profile.roles')}</dt>
                <dd>{user.roles.join(', ')}</dd>
              </>
            ) : null}
          </dl>
        ) : userError ? (
          <>
            <FormError message={problem(userError)} />
            <button type="button" onClick={() => void reloadUser()}>
              {t('common.retry')}
            </button>
          </>
        ) : (
          <p role="status">{t('common.loading')}</p>
        )}
      </Card>
      <NameSection />
      <ChangeEmailSection />
      <PasswordSection onChanged={() => setSessionsKey((k) => k + 1)} />
      <TwoStepSection />
      <PhoneSection />
      <LinkedAccountsSection />
      <SessionsSection reloadKey={sessionsKey} />
      <LogoutSection />
      <DeleteSection />
    </div>
  );
}
