import { BrowserRouter, Link, Navigate, Route, Routes } from 'react-router-dom';
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

function Header() {
  const { t } = useI18n();
  const { status } = useAuth();
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
            <li>
              <Link to="/profile">{t('nav.profile')}</Link>
            </li>
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
