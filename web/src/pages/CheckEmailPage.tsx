import { Link, useLocation } from 'react-router-dom';
import { PageTitle } from '../components/forms';
import { useI18n } from '../i18n/I18nProvider';

interface SignupState {
  email?: string;
  verificationRequired?: boolean;
}

/** Shown after sign-up. The wording never says whether the address already had an account. */
export function CheckEmailPage() {
  const { t } = useI18n();
  const state = (useLocation().state as SignupState | null) ?? {};
  if (state.verificationRequired === false) {
    return (
      <section className="card">
        <PageTitle>{t('signupDone.title')}</PageTitle>
        <p>{t('signupDone.body')}</p>
        <p>
          <Link className="button" to="/login">
            {t('checkEmail.login')}
          </Link>
        </p>
      </section>
    );
  }
  return (
    <section className="card">
      <PageTitle>{t('checkEmail.title')}</PageTitle>
      <p>{state.email ? t('checkEmail.body', { email: state.email }) : t('checkEmail.bodyGeneric')}</p>
      <p className="muted">{t('checkEmail.spam')}</p>
      <p>
        <Link className="button" to="/login">
          {t('checkEmail.login')}
        </Link>
      </p>
    </section>
  );
}
