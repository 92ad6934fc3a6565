import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { ApiError, type ApiClient, type VerifyEmailResult } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { FormError, PageTitle } from '../components/forms';
import { CodeForm, ResendVerification, useVerificationOutcome, Verified } from '../components/verification';
import { useI18n } from '../i18n/I18nProvider';

/**
 * A token is good for one use, so each one is posted once per client and attempt, however often
 * the page mounts (React StrictMode runs effects twice; a remount must not spend it again).
 */
const posted = new WeakMap<ApiClient, Map<string, Promise<VerifyEmailResult>>>();

function verifyOnce(client: ApiClient, token: string, attempt: number): Promise<VerifyEmailResult> {
  let byToken = posted.get(client);
  if (!byToken) posted.set(client, (byToken = new Map()));
  const key = `${attempt}:${token}`;
  let pending = byToken.get(key);
  if (!pending) {
    pending = client.verifyEmail({ token });
    byToken.set(key, pending);
  }
  return pending;
}

/** Failures worth the same request again (the token was not spent). */
const RETRYABLE = new Set(['rate_limited', 'network', 'internal', 'unavailable', 'overloaded', 'unknown', 'csrf_failed']);

function codeOf(error: unknown): string {
  if (!(error instanceof ApiError)) return 'unknown';
  // A token the server could not even read is an invalid link.
  if (error.code === 'invalid_field' && error.field === 'token') return 'verification_token_invalid';
  return error.code;
}

type Phase = { kind: 'checking' } | { kind: 'failed'; error: unknown };

function CodeEntry() {
  const { t } = useI18n();
  const { done, finish } = useVerificationOutcome();
  if (done) return <Verified result={done} />;
  return (
    <div className="stack">
      <section className="card">
        <PageTitle>{t('verify.title')}</PageTitle>
        <p>{t('verify.intro')}</p>
        <CodeForm onVerified={finish} />
      </section>
      <ResendVerification heading={t('resend.section')} />
      <p className="muted">
        {t('resend.changeHint')} <Link to="/profile">{t('resend.changeLink')}</Link>
      </p>
    </div>
  );
}

/** /verify-email?token=… from the mailed link, or /verify-email to type the 6-digit code. */
export function VerifyEmailPage() {
  const { client } = useAuth();
  const { t, problem } = useI18n();
  const [params, setParams] = useSearchParams();
  const [token] = useState(() => params.get('token') ?? '');
  const [attempt, setAttempt] = useState(0);
  const [phase, setPhase] = useState<Phase>({ kind: 'checking' });
  const [useCode, setUseCode] = useState(false);
  const { done, finish } = useVerificationOutcome();
  const finishRef = useRef(finish);

  useEffect(() => {
    finishRef.current = finish;
  });

  // The token is a credential: keep it out of the address bar and the history once read.
  useEffect(() => {
    if (params.has('token')) {
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          next.delete('token');
          return next;
        },
        { replace: true },
      );
    }
  }, [params, setParams]);

  useEffect(() => {
    if (!token) return;
    let alive = true;
    setPhase((p) => (p.kind === 'checking' ? p : { kind: 'checking' }));
    verifyOnce(client, token, attempt).then(
      (result) => alive && finishRef.current(result),
      (error: unknown) => alive && setPhase({ kind: 'failed', error }),
    );
    return () => {
      alive = false;
    };
  }, [client, token, attempt]);

  if (done) return <Verified result={done} />;
  if (!token || useCode) return <CodeEntry />;

  if (phase.kind === 'checking') {
    return (
      <section className="card">
        <PageTitle>{t('verify.title')}</PageTitle>
        <p role="status">{t('verify.checking')}</p>
      </section>
    );
  }

  const code = codeOf(phase.error);
  const message =
    code === 'conflict'
      ? t('verify.conflict')
      : code === 'verification_token_invalid'
        ? t('problem.verification_token_invalid')
        : problem(phase.error);
  const retryable = RETRYABLE.has(code);
  return (
    <div className="stack">
      <section className="card">
        {/* A busy server or a conflict is no fault of the link. */}
        <PageTitle>{retryable || code === 'conflict' ? t('verify.title') : t('verify.failedTitle')}</PageTitle>
        <FormError message={message} />
        {retryable ? (
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            {t('common.retry')}
          </button>
        ) : code === 'conflict' ? (
          <p>
            <Link className="button" to="/profile">
              {t('verify.toProfile')}
            </Link>
          </p>
        ) : (
          <>
            {code === 'verification_token_used' ? (
              <p>
                {t('verify.alreadyDone')} <Link to="/login">{t('verify.login')}</Link>
              </p>
            ) : null}
            <button type="button" onClick={() => setUseCode(true)}>
              {t('verify.useCode')}
            </button>
          </>
        )}
      </section>
      {retryable || code === 'conflict' ? null : (
        <>
          <ResendVerification heading={t('verify.newMail')} />
          <p className="muted">
            {t('resend.changeHint')} <Link to="/profile">{t('resend.changeLink')}</Link>
          </p>
        </>
      )}
    </div>
  );
}
