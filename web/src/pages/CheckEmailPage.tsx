import { Link, useLocation } from 'react-router-dom';
import { Card, PageTitle } from '../components/forms';
import { CodeForm, ResendVerification, useVerificationOutcome, Verified } from '../components/verification';
import { useI18n } from '../i18n/I18nProvider';

/** Navigation state from sign-up, or from the login page after "send the e-mail again". */
export interface CheckEmailState {
  email?: string;
  verificationRequired?: boolean;
  /** The mail was a resend (from the login page), not the first one after sign-up. */
  resent?: boolean;
  /** When the mail was asked for (ms since the epoch): starts the resend cooldown. */
  sentAt?: number;
}

/** Shown after sign-up. The wording never says whether the address already had an account. */
export function CheckEmailPage() {
  const { t } = useI18n();
  const state = (useLocation().state as CheckEmailState | null) ?? {};
  const { done, finish } = useVerificationOutcome();
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
  if (done) return <Verified result={done} />;
  const email = state.email || undefined;
  const body = state.resent && email
    ? t('checkEmail.resentBody', { email })
    : email
      ? t('checkEmail.body', { email })
      : t('checkEmail.bodyGeneric');
  return (
    <div className="stack">
      <section className="card">
        <PageTitle>{t('checkEmail.title')}</PageTitle>
        <p>{body}</p>
        <p className="muted">{t('checkEmail.spam')}</p>
        <p>
          <Link to="/login">{t('checkEmail.login')}</Link>
        </p>
      </section>
      <Card title={t('checkEmail.codeSection')}>
        <CodeForm initialEmail={email} onVerified={finish} />
      </Card>
      <ResendVerification heading={t('resend.section')} email={email} sentAt={state.sentAt} />
    </div>
  );
}
