// The admin area: only for accounts whose roles may carry an admin permission. Others get the
// "not allowed" page (and the server refuses them anyway: a 403 from any admin call shows the
// same page). Every admin page sits inside the re-authentication provider.
import { useMemo, type ReactNode } from 'react';
import { Link, NavLink, Outlet } from 'react-router-dom';
import { adminApi, mayAdminister } from '../../api/admin';
import { ApiError } from '../../api/problem';
import { useAuth } from '../../auth/AuthProvider';
import { FormError, PageTitle } from '../../components/forms';
import { useI18n } from '../../i18n/I18nProvider';
import { ReauthProvider } from './Reauth';

export function isForbidden(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403 && error.code === 'forbidden';
}

export function useAdminApi() {
  const { client } = useAuth();
  return useMemo(() => adminApi(client), [client]);
}

export function NotAllowed() {
  const { t } = useI18n();
  return (
    <section className="card">
      <PageTitle>{t('admin.notAllowed.title')}</PageTitle>
      <p>{t('admin.notAllowed.body')}</p>
      <p>
        <Link to="/profile">{t('admin.notAllowed.back')}</Link>
      </p>
    </section>
  );
}

/** What a page shows when loading failed: "not allowed" for a 403, else the message and a retry. */
export function LoadError({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const { t, problem } = useI18n();
  if (isForbidden(error)) return <NotAllowed />;
  return (
    <div>
      <FormError message={problem(error)} />
      <button type="button" onClick={onRetry}>{t('common.retry')}</button>
    </div>
  );
}

/** Route guard for /admin/*: waits for the signed-in user, then checks the roles. */
export function RequireAdmin({ children }: { children: ReactNode }) {
  const { user, userError, reloadUser } = useAuth();
  const { t } = useI18n();
  if (!user) {
    if (userError) return <LoadError error={userError} onRetry={() => void reloadUser()} />;
    return <p className="loading" role="status">{t('common.loading')}</p>;
  }
  if (!mayAdminister(user.roles)) return <NotAllowed />;
  return <>{children}</>;
}

export function AdminLayout() {
  const { t } = useI18n();
  return (
    <RequireAdmin>
      <ReauthProvider>
        <div className="admin">
          <nav aria-label={t('admin.nav')} className="subnav">
            <ul>
              <li><NavLink to="/admin/users" end>{t('admin.nav.users')}</NavLink></li>
              <li><NavLink to="/admin/users/new">{t('admin.nav.create')}</NavLink></li>
              <li><NavLink to="/admin/audit">{t('admin.nav.audit')}</NavLink></li>
              <li><NavLink to="/admin/roles">{t('admin.nav.roles')}</NavLink></li>
            </ul>
          </nav>
          <Outlet />
        </div>
      </ReauthProvider>
    </RequireAdmin>
  );
}
