// Roles: the built-in ones (read-only) and custom ones with any subset of the permissions.
// Changing or deleting a role needs a recent sign-in.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Role } from '../../api/admin';
import { ApiError } from '../../api/problem';
import { Card, Field, FormError, Notice, PageTitle } from '../../components/forms';
import { useI18n } from '../../i18n/I18nProvider';
import { LoadError, useAdminApi } from './AdminLayout';
import { useReauth } from './Reauth';

export const ROLE_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

function PermissionBoxes({ idPrefix, all, chosen, onChange, disabled }: {
  idPrefix: string; all: string[]; chosen: string[]; onChange: (next: string[]) => void; disabled?: boolean;
}) {
  const { t } = useI18n();
  return (
    <fieldset className="choices">
      <legend>{t('admin.roles.permissions')}</legend>
      {all.map((p) => (
        <div className="check" key={p}>
          <input id={`${idPrefix}-${p}`} type="checkbox" checked={chosen.includes(p)} disabled={disabled}
            onChange={(e) => onChange(e.target.checked ? [...chosen, p] : chosen.filter((x) => x !== p))} />
          <label htmlFor={`${idPrefix}-${p}`}><code>{p}</code></label>
        </div>
      ))}
    </fieldset>
  );
}

function RoleCard({ role, all, onChanged }: { role: Role; all: string[]; onChanged: (message: string) => void }) {
  const api = useAdminApi();
  const reauth = useReauth();
  const { t, problem } = useI18n();
  const [chosen, setChosen] = useState(role.permissions);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function act(action: () => Promise<unknown>, message: string) {
    setBusy(true);
    setError(null);
    try {
      await reauth(action);
      onChanged(message);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'role_in_use' ? t('admin.roles.inUse', { count: role.users }) : problem(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={role.name}>
      <p className="muted">
        {role.builtin ? t('admin.roles.builtin') : t('admin.roles.custom')} · {t('admin.roles.users', { count: role.users })}
      </p>
      <FormError message={error} />
      <PermissionBoxes idPrefix={`perm-${role.name}`} all={all} chosen={chosen} onChange={setChosen} disabled={role.builtin} />
      {role.builtin ? null : (
        <div className="actions">
          <button type="button" disabled={busy}
            onClick={() => void act(() => api.updateRole(role.name, chosen), t('admin.roles.saved', { name: role.name }))}>
            {t('common.save')}
          </button>
          <button type="button" className="destructive" disabled={busy}
            aria-label={t('admin.roles.deleteLabel', { name: role.name })}
            onClick={() => void act(() => api.deleteRole(role.name), t('admin.roles.deleted', { name: role.name }))}>
            {t('admin.roles.delete')}
          </button>
        </div>
      )}
    </Card>
  );
}

export function RolesPage() {
  const api = useAdminApi();
  const { t, problem } = useI18n();
  const [data, setData] = useState<{ roles: Role[]; permissions: string[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [perms, setPerms] = useState<string[]>([]);
  const [nameError, setNameError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);

  const load = useCallback(() => {
    setError(null);
    api.roles().then(setData, setError);
  }, [api]);
  useEffect(load, [load]);

  async function onCreate(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    setNotice(null);
    if (!ROLE_NAME_PATTERN.test(name)) return setNameError(t('admin.roles.nameRule'));
    setNameError(null);
    try {
      await api.createRole(name, perms);
      setNotice(t('admin.roles.created', { name }));
      setName('');
      setPerms([]);
      load();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'conflict') setNameError(t('admin.roles.taken'));
      else if (err instanceof ApiError && err.field === 'name') setNameError(problem(err));
      else setFormError(problem(err));
    }
  }

  return (
    <div className="stack">
      <PageTitle>{t('admin.roles.title')}</PageTitle>
      <Notice message={notice} />
      {error ? <LoadError error={error} onRetry={load} /> : null}
      {data === null && !error ? <p role="status">{t('common.loading')}</p> : null}
      {data?.roles.map((role) => (
        <RoleCard key={`${role.name}:${role.permissions.join(',')}`} role={role} all={data.permissions}
          onChanged={(message) => { setNotice(message); load(); }} />
      ))}
      {data ? (
        <Card title={t('admin.roles.new')}>
          <form onSubmit={onCreate} noValidate>
            <FormError message={formError} />
            <Field label={t('admin.roles.name')} name="role-name" autoComplete="off" spellCheck={false} value={name}
              onChange={(e) => { setName(e.target.value); setNameError(null); }} error={nameError} hint={t('admin.roles.nameRule')} />
            <PermissionBoxes idPrefix="new-perm" all={data.permissions} chosen={perms} onChange={setPerms} />
            <button type="submit">{t('admin.roles.create')}</button>
          </form>
        </Card>
      ) : null}
    </div>
  );
}
