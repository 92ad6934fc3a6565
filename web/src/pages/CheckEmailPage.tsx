import { Link, useLocation } from 'react-router-dom';
import { PageTitle } from '../components/forms';
import { useI18n } from '../i18n/I18nProvider';

export function CheckEmailPage() {
  const { t } = useI18n();
  const email = (useLocation().state as { email?: string } | null)?.email;
  return (
    <section className="card">
      <PageTitle>{t('checkEmail.title')}</PageTitle>
      <p>{email ? t('checkEmail.body', { email }) : t('checkEmail.bodyGeneric')}</p>
      <p className="muted">{t('checkEmail.spam')}</p>
      <p>
        <Link className="button" to="/login">
          {t('checkEmail.login')}
        </Link>
      </p>
    </section>
  );
}
