// One user: profile fields, status, e-mail verification, roles, second factors, password reset
// mail, sessions, delete. Destructive actions go through useReauth (recent sign-in).
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router-dom';
import type { AdminUser, AdminUserDetail, UserPatch } from '../../api/admin';
import type { SessionInfo } from '../../api/client';
import { ApiError } from '../../api/problem';
import { useAuth } from '../../auth/AuthProvider';
import { Card, Field, focusFirstInvalid, FormError, Notice, PageTitle, splitError } from '../../components/forms';
import { SessionList } from '../../components/SessionList';
import { useI18n } from '../../i18n/I18nProvider';
import { useDateFormat } from '../../i18n/useDateFormat';
import { EMAIL_PATTERN, MAX_NAME_LENGTH } from '../validation';
import { LoadError, NotAllowed, isForbidden, useAdminApi } from './AdminLayout';
import { useReauth } from './Reauth';

type Fields = 'name' | 'email' | 'phone';

/** Only what changed goes to the server (the audit event records each changed field). */
export function profilePatch(user: AdminUser, form: { name: string; email: string; phone: string; verified: boolean }): UserPatch {
  const patch: UserPatch = {};
  if (form.name.trim() !== user.name) patch.name = form.name.trim();
  const email = form.email.trim();
  if (email.toLowerCase() !== user.email.toLowerCase()) patch.email = email;
  if (form.phone.trim() !== (user.phone ?? '')) patch.phone = form.phone.trim();
  // A new address counts as verified unless the box says otherwise; an unchanged one only
  // changes when the box does.
  if (patch.email !== undefined ? !form.verified : form.verified !== user.email_verified) patch.email_verified = form.verified;
  return patch;
}

/** Runs one action of the page: busy flag, message on success, problem text on failure. */
function useAction() {
  const { problem } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = useCallback(
    async (action: () => Promise<string | null>) => {
      setBusy(true);
      setError(null);
      setDone(null);
      try {
        setDone(await action());
        return true;
      } catch (err) {
        setError(problem(err));
        return false;
      } finally {
        setBusy(false);
      }
    },
    [problem],
  );
  return { busy, error, done, setError, run };
}

function ProfileCard({ user, onSaved }: { user: AdminUserDetail; onSaved: (u: AdminUser) => void }) {
  const api = useAdminApi();
  const { t, problem } = useI18n();
  const [form, setForm] = useState({ name: user.name, email: user.email, phone: user.phone ?? '', verified: user.email_verified });
  const [errors, setErrors] = useState<Partial<Record<Fields, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    setForm({ name: user.name, email: user.email, phone: user.phone ?? '', verified: user.email_verified });
  }, [user.name, user.email, user.phone, user.email_verified]);

  function set<K extends keyof typeof form>(key: K, value: (typeof form)[K]) {
    setForm((f) => ({ ...f, [key]: value }));
    if (key !== 'verified') setErrors((e) => ({ ...e, [key]: undefined }));
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setSaved(null);
    setFormError(null);
    const found: typeof errors = {};
    if (!form.name.trim()) found.name = t('validation.required');
    else if (Array.from(form.name.trim()).length > MAX_NAME_LENGTH) found.name = t('validation.nameLong', { max: MAX_NAME_LENGTH });
    if (!form.email.trim()) found.email = t('validation.required');
    else if (!EMAIL_PATTERN.test(form.email.trim())) found.email = t('validation.email');
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(formRef);
    const patch = profilePatch(user, form);
    if (Object.keys(patch).length === 0) return setSaved(t('admin.user.nothingChanged'));
    setBusy(true);
    try {
      onSaved(await api.updateUser(user.id, patch));
      setSaved(t('admin.user.saved'));
    } catch (err) {
      const split = splitError(err, ['name', 'email', 'phone'] as const, problem);
      const code = err instanceof ApiError ? err.code : null;
      const field = split.field ?? (code === 'conflict' && patch.email ? 'email' : code === 'invalid_email' ? 'email' : null);
      if (field) {
        setErrors({ [field]: code === 'conflict' ? t('admin.user.emailTaken') : split.detail ? `${split.text} ${split.detail}` : split.text });
        focusFirstInvalid(formRef);
      } else setFormError(split.text);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('admin.user.profile')}>
      <form ref={formRef} onSubmit={onSubmit} noValidate>
        <FormError message={formError} />
        <Field label={t('field.name')} name="name" autoComplete="off" required value={form.name}
          onChange={(e) => set('name', e.target.value)} error={errors.name} />
        <Field label={t('field.email')} name="email" type="email" autoComplete="off" required value={form.email}
          onChange={(e) => set('email', e.target.value)} error={errors.email} />
        <Field label={t('admin.user.phone')} name="phone" type="tel" autoComplete="off" value={form.phone}
          onChange={(e) => set('phone', e.target.value)} error={errors.phone} hint={t('admin.user.phoneHint')} />
        <div className="check">
          <input id="admin-verified" type="checkbox" checked={form.verified} onChange={(e) => set('verified', e.target.checked)} />
          <label htmlFor="admin-verified">{t('admin.user.emailVerified')}</label>
        </div>
        <button type="submit" disabled={busy}>{busy ? t('common.saving') : t('common.save')}</button>
        <Notice message={saved} />
      </form>
    </Card>
  );
}

function StatusCard({ user, onSaved }: { user: AdminUserDetail; onSaved: (u: AdminUser) => void }) {
  const api = useAdminApi();
  const reauth = useReauth();
  const { t } = useI18n();
  const action = useAction();
  const disabled = user.status === 'disabled';
  const toggle = () =>
    action.run(async () => {
      const next = disabled ? 'active' : 'disabled';
      onSaved(await reauth(() => api.updateUser(user.id, { status: next })));
      return next === 'disabled' ? t('admin.user.disabledDone') : t('admin.user.enabledDone');
    });
  return (
    <Card title={t('admin.user.statusSection')}>
      <p>{t('admin.user.statusIs', { status: t(`admin.status.${user.status}`) })}</p>
      <p className="muted">{disabled ? t('admin.user.enableHint') : t('admin.user.disableHint')}</p>
      <FormError message={action.error} />
      <button type="button" className={disabled ? undefined : 'destructive'} onClick={() => void toggle()} disabled={action.busy}>
        {disabled ? t('admin.user.enable') : t('admin.user.disable')}
      </button>
      <Notice message={action.done} />
    </Card>
  );
}

function RolesCard({ user, onSaved }: { user: AdminUserDetail; onSaved: (u: AdminUser) => void }) {
  const api = useAdminApi();
  const reauth = useReauth();
  const { t } = useI18n();
  const action = useAction();
  const [available, setAvailable] = useState<string[] | null>(null);
  const [chosen, setChosen] = useState<string[]>(user.roles);
  const legend = useId();

  useEffect(() => setChosen(user.roles), [user.roles]);
  useEffect(() => {
    api.roles().then((r) => setAvailable(r.roles.map((x) => x.name)), () => setAvailable(null));
  }, [api]);

  const names = [...new Set([...(available ?? []), ...user.roles])];
  const save = () =>
    action.run(async () => {
      onSaved(await reauth(() => api.updateUser(user.id, { roles: chosen })));
      return t('admin.user.rolesSaved');
    });

  return (
    <Card title={t('admin.user.rolesSection')}>
      <fieldset className="choices" aria-describedby={legend}>
        <legend>{t('admin.user.rolesLegend')}</legend>
        {names.map((role) => (
          <div className="check" key={role}>
            <input id={`role-${role}`} type="checkbox" checked={chosen.includes(role)}
              onChange={(e) => setChosen((c) => (e.target.checked ? [...c, role] : c.filter((x) => x !== role)))} />
            <label htmlFor={`role-${role}`}>{role}</label>
          </div>
        ))}
      </fieldset>
      <p id={legend} className="muted">{t('admin.user.rolesHint')}</p>
      <FormError message={action.error} />
      <button type="button" onClick={() => void save()} disabled={action.busy}>{t('admin.user.saveRoles')}</button>
      <Notice message={action.done} />
    </Card>
  );
}

function SecurityCard({ user, onChanged }: { user: AdminUserDetail; onChanged: () => void }) {
  const api = useAdminApi();
  const reauth = useReauth();
  const { t } = useI18n();
  const action = useAction();
  const resetMfa = () =>
    action.run(async () => {
      await reauth(() => api.resetMfa(user.id));
      onChanged();
      return t('admin.user.mfaResetDone');
    });
  const sendReset = () =>
    action.run(async () => {
      await api.sendPasswordReset(user.id);
      return t('admin.user.resetSent', { email: user.email });
    });
  const revoke = () =>
    action.run(async () => {
      const count = await api.revokeSessions(user.id);
      onChanged();
      return t('admin.user.sessionsRevoked', { count });
    });
  const f = user.factors ?? { totp: false, recovery_codes_left: 0, sms: false };
  return (
    <Card title={t('admin.user.securitySection')}>
      <dl className="summary">
        <dt>{t('admin.user.totp')}</dt>
        <dd>{f.totp ? t('admin.user.totpOn', { count: f.recovery_codes_left }) : t('admin.user.totpOff')}</dd>
        <dt>{t('admin.user.smsFactor')}</dt>
        <dd>{f.sms ? t('admin.yes') : t('admin.no')}</dd>
        <dt>{t('admin.user.password')}</dt>
        <dd>{user.has_password ? t('admin.yes') : t('admin.no')}</dd>
        <dt>{t('admin.user.sessions')}</dt>
        <dd>{user.sessions_count ?? 0}</dd>
      </dl>
      <FormError message={action.error} />
      <div className="actions">
        <button type="button" onClick={() => void sendReset()} disabled={action.busy || user.status === 'disabled'}>
          {t('admin.user.sendReset')}
        </button>
        <button type="button" onClick={() => void revoke()} disabled={action.busy}>{t('admin.user.revokeSessions')}</button>
        {f.totp ? (
          <button type="button" onClick={() => void resetMfa()} disabled={action.busy}>{t('admin.user.resetMfa')}</button>
        ) : null}
      </div>
      <Notice message={action.done} />
    </Card>
  );
}

/** The user's sessions, each with a sign-out button (`GET/DELETE .../sessions`). */
function SessionsCard({ user, reloadKey, onChanged }: { user: AdminUserDetail; reloadKey: number; onChanged: () => void }) {
  const api = useAdminApi();
  const { t, problem } = useI18n();
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    api.userSessions(user.id).then(
      (list) => alive && (setSessions(list), setError(null)),
      (err) => alive && setError(problem(err)),
    );
    return () => {
      alive = false;
    };
  }, [api, user.id, reloadKey, problem]);

  async function revoke(id: string) {
    setBusyId(id);
    setDone(null);
    setError(null);
    try {
      await api.revokeSession(user.id, id);
      setSessions((list) => list?.filter((s) => s.id !== id) ?? null);
      setDone(t('sessions.revoked'));
      onChanged();
    } catch (err) {
      setError(problem(err));
    } finally {
      setBusyId(null);
    }
  }

  return (
    <Card title={t('admin.user.sessionsSection')}>
      <FormError message={error} />
      {sessions === null && !error ? <p role="status">{t('common.loading')}</p> : null}
      {sessions !== null ? <SessionList sessions={sessions} busyId={busyId} onRevoke={(id) => void revoke(id)} /> : null}
      {sessions !== null && sessions.length === 0 ? <p className="muted">{t('admin.user.noSessions')}</p> : null}
      <Notice message={done} />
    </Card>
  );
}

function DeleteCard({ user }: { user: AdminUserDetail }) {
  const api = useAdminApi();
  const reauth = useReauth();
  const navigate = useNavigate();
  const { t } = useI18n();
  const action = useAction();
  const [confirm, setConfirm] = useState('');
  const matches = confirm.trim().toLowerCase() === user.email.toLowerCase();

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!matches) return action.setError(t('admin.user.deleteMismatch'));
    const ok = await action.run(async () => {
      await reauth(() => api.deleteUser(user.id));
      return null;
    });
    if (ok) navigate('/admin/users', { state: { deleted: user.email } });
  }

  return (
    <Card title={t('admin.user.deleteSection')} className="danger">
      <p>{t('admin.user.deleteWarning')}</p>
      <form onSubmit={onSubmit} noValidate>
        <Field label={t('admin.user.deleteConfirm', { email: user.email })} name="confirm" autoComplete="off"
          value={confirm} onChange={(e) => { setConfirm(e.target.value); action.setError(null); }} error={action.error} />
        <button type="submit" className="destructive" disabled={action.busy || !matches}>{t('admin.user.delete')}</button>
      </form>
    </Card>
  );
}

export function UserPage() {
  const { id = '' } = useParams();
  const api = useAdminApi();
  const { user: me } = useAuth();
  const { t } = useI18n();
  const formatDate = useDateFormat();
  const created = (useLocation().state as { created?: boolean } | null)?.created;
  const [user, setUser] = useState<AdminUserDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    setError(null);
    api.getUser(id).then(
      (u) => live && setUser(u),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [api, id, reload]);

  const refresh = useCallback(() => setReload((n) => n + 1), []);
  /** A PATCH answers the user without factors and sessions: keep those, then reload them. */
  const onSaved = useCallback((u: AdminUser) => {
    setUser((old) => (old ? { ...old, ...u } : null));
    setReload((n) => n + 1);
  }, []);

  if (!user) {
    return (
      <div className="stack">
        <PageTitle>{t('admin.user.title')}</PageTitle>
        {error ? (
          isForbidden(error) ? <NotAllowed /> : <LoadError error={error} onRetry={refresh} />
        ) : (
          <p role="status">{t('common.loading')}</p>
        )}
      </div>
    );
  }

  const self = me?.id === user.id;
  return (
    <div className="stack">
      <PageTitle>{user.name || user.email}</PageTitle>
      {created ? <Notice message={t('admin.create.done', { email: user.email })} /> : null}
      <Card title={t('profile.summary')}>
        <dl className="summary">
          <dt>{t('field.email')}</dt>
          <dd>
            {user.email}{' '}
            <span className={user.email_verified ? 'badge ok' : 'badge warn'}>
              {user.email_verified ? t('profile.verified') : t('profile.notVerified')}
            </span>
          </dd>
          <dt>{t('admin.users.status')}</dt>
          <dd><span className={`badge status-${user.status}`}>{t(`admin.status.${user.status}`)}</span></dd>
          <dt>{t('admin.user.phone')}</dt>
          <dd>{user.phone ? `${user.phone} (${user.phone_verified ? t('phone.verified') : t('phone.notVerified')})` : '—'}</dd>
          <dt>{t('admin.users.roles')}</dt>
          <dd>{user.roles.join(', ') || '—'}</dd>
          <dt>{t('admin.users.created')}</dt>
          <dd>{formatDate(user.created_at)}</dd>
          <dt>{t('admin.user.updated')}</dt>
          <dd>{formatDate(user.updated_at)}</dd>
          <dt>{t('admin.user.id')}</dt>
          <dd><code>{user.id}</code> · <Link to={`/admin/audit?user=${encodeURIComponent(user.id)}`}>{t('admin.user.auditLink')}</Link></dd>
          {user.identities?.length ? (
            <>
              <dt>{t('identities.section')}</dt>
              <dd>{user.identities.map((i) => `${i.provider} (${i.email})`).join(', ')}</dd>
            </>
          ) : null}
        </dl>
      </Card>
      <ProfileCard user={user} onSaved={onSaved} />
      {self ? <p className="muted">{t('admin.user.selfHint')}</p> : <StatusCard user={user} onSaved={onSaved} />}
      <RolesCard user={user} onSaved={onSaved} />
      <SecurityCard user={user} onChanged={refresh} />
      <SessionsCard user={user} reloadKey={reload} onChanged={refresh} />
      {self ? null : <DeleteCard user={user} />}
    </div>
  );
}
