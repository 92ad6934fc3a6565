import { BrowserRouter, Link, Navigate, Route, Routes } from 'react-router-dom';
import { mayAdminister } from './api/admin';
import type { ApiClient } from './api/client';
import { AuthProvider, RedirectIfSignedIn, RequireAuth, useAuth } from './auth/AuthProvider';
import { I18nProvider, LanguageSwitcher, useI18n } from './i18n/I18nProvider';
import type { Lang } from './i18n/i18n';
import { CheckEmailPage } from './pages/CheckEmailPage';
import { ForgotPasswordPage } from './pages/ForgotPasswordPage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { ProfilePage } from './pages/ProfilePage';
import { ResetPasswordPage } from './pages/ResetPasswordPage';
import { SignupPage } from './pages/SignupPage';
import { SmsLoginPage } from './pages/SmsLoginPage';
import { VerifyEmailPage } from './pages/VerifyEmailPage';
import { AdminLayout } from './pages/admin/AdminLayout';
import { AuditPage } from './pages/admin/AuditPage';
import { CreateUserPage } from './pages/admin/CreateUserPage';
import { RolesPage } from './pages/admin/RolesPage';
import { UserPage } from './pages/admin/UserPage';
import { UsersPage } from './pages/admin/UsersPage';

function Header() {
  const { t } = useI18n();
  const { status, user } = useAuth();
  return (
    <header className="site-header">
      <a className="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <Link to="/" className="brand">
        {t('app.name')}
      </Link>
      <nav aria-label={t('nav.main')}>
        <ul>
          {status === 'signed-in' ? (
            <>
              <li>
                <Link to="/profile">{t('nav.profile')}</Link>
              </li>
              {mayAdminister(user?.roles) ? (
                <li>
                  <Link to="/admin/users">{t('nav.admin')}</Link>
                </li>
              ) : null}
            </>
          ) : (
            <>
              <li>
                <Link to="/login">{t('nav.login')}</Link>
              </li>
              <li>
                <Link to="/signup">{t('nav.signup')}</Link>
              </li>
            </>
          )}
        </ul>
      </nav>
      <LanguageSwitcher />
    </header>
  );
}

export function AppRoutes() {
  return (
    <>
      <Header />
      <main id="main">
        <Routes>
          <Route path="/" element={<Navigate to="/profile" replace />} />
          <Route path="/login" element={<RedirectIfSignedIn><LoginPage /></RedirectIfSignedIn>} />
          <Route path="/login/sms" element={<RedirectIfSignedIn><SmsLoginPage /></RedirectIfSignedIn>} />
          <Route path="/signup" element={<RedirectIfSignedIn><SignupPage /></RedirectIfSignedIn>} />
          <Route path="/check-email" element={<CheckEmailPage />} />
          <Route path="/verify-email" element={<VerifyEmailPage />} />
          <Route path="/forgot-password" element={<ForgotPasswordPage />} />
          <Route path="/reset-password" element={<ResetPasswordPage />} />
          <Route path="/profile" element={<RequireAuth><ProfilePage /></RequireAuth>} />
          <Route path="/admin" element={<RequireAuth><AdminLayout /></RequireAuth>}>
            <Route index element={<Navigate to="/admin/users" replace />} />
            <Route path="users" element={<UsersPage />} />
            <Route path="users/new" element={<CreateUserPage />} />
            <Route path="users/:id" element={<UserPage />} />
            <Route path="audit" element={<AuditPage />} />
            <Route path="roles" element={<RolesPage />} />
          </Route>
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </main>
    </>
  );
}

export function App({ client, lang }: { client?: ApiClient; lang?: Lang }) {
  return (
    <I18nProvider initial={lang}>
      <AuthProvider client={client}>
        <BrowserRouter>
          <AppRoutes />
        </BrowserRouter>
      </AuthProvider>
    </I18nProvider>
  );
}
