// Profile sections for second factors: the authenticator app (TOTP) with its recovery codes,
// and the phone number that can receive sign-in codes.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, svgDataUrl, type MfaStatus, type TotpEnrolment } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { Card, Field, focusFirstInvalid, FormError, Notice } from '../components/forms';
import { RESEND_COOLDOWN_SECONDS, useCooldown } from '../components/verification';
import { useI18n } from '../i18n/I18nProvider';
import type { MessageKey } from '../i18n/i18n';
import { CODE_PATTERN, normalizeCode } from './validation';

/** A message for `error`, preferring a section-specific one for the codes in `specific`. */
function useSectionProblem(prefix: 'phone.error' | 'mfa.error', specific: readonly string[]) {
  const { t, problem } = useI18n();
  return (error: unknown) =>
    error instanceof ApiError && specific.includes(error.code)
      ? t(`${prefix}.${error.code}` as MessageKey)
      : problem(error);
}

/** The recovery codes, shown once, with copy and download. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const { t } = useI18n();
  const { user } = useAuth();
  const [copied, setCopied] = useState<string | null>(null);
  const [copyError, setCopyError] = useState<string | null>(null);
  const text = `${t('twoStep.fileHeader', { email: user?.email ?? '' })}\n\n${codes.join('\n')}\n`;

  async function copy() {
    setCopied(null);
    setCopyError(null);
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      setCopied(t('twoStep.copied'));
    } catch {
      setCopyError(t('twoStep.copyFailed'));
    }
  }

  function download() {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'latchkey-recovery-codes.txt';
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }

  return (
    <div className="recovery-codes">
      <h3>{t('twoStep.codesTitle')}</h3>
      <p>{t('twoStep.codesHint')}</p>
      <ul className="codes" aria-label={t('twoStep.codesTitle')}>
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <FormError message={copyError} />
      <div className="actions">
        <button type="button" onClick={() => void copy()}>{t('twoStep.copy')}</button>
        <button type="button" onClick={download}>{t('twoStep.download')}</button>
        <button type="button" className="primary" onClick={onDone}>{t('twoStep.codesDone')}</button>
      </div>
      <Notice message={copied} />
    </div>
  );
}

/** Password + a code, for turning TOTP off or replacing the recovery codes. */
function PasswordAndCodeForm({ heading, hint, submit, destructive, onSubmit }: {
  heading: string;
  hint?: string;
  submit: string;
  destructive?: boolean;
  onSubmit: (password: string, code: string) => Promise<void>;
}) {
  const { user } = useAuth();
  const { t } = useI18n();
  const message = useSectionProblem('mfa.error', ['invalid_code']);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [errors, setErrors] = useState<Partial<Record<'password' | 'code', string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  async function submitForm(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const value = code.trim();
    const found: typeof errors = {};
    if (!password) found.password = t('validation.required');
    if (!value) found.code = t('validation.required');
    setErrors(found);
    if (Object.keys(found).length > 0) {
      focusFirstInvalid(formRef);
      return;
    }
    setBusy(true);
    try {
      await onSubmit(password, /^[\d\s-]+$/.test(value) ? normalizeCode(value) : value);
      setPassword('');
      setCode('');
    } catch (error) {
      const code = error instanceof ApiError ? error.code : null;
      if (code === 'invalid_credentials') setErrors({ password: message(error) });
      else if (code === 'invalid_code') setErrors({ code: message(error) });
      else setFormError(message(error));
      setPassword('');
      setCode('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form ref={formRef} onSubmit={submitForm} noValidate>
      <h3>{heading}</h3>
      {hint ? <p className="muted">{hint}</p> : null}
      <FormError message={formError} />
      <input type="text" name="username" autoComplete="username" value={user?.email ?? ''} readOnly hidden />
      <Field label={t('field.current')} name="password" type="password" autoComplete="current-password" required
        value={password} onChange={(e) => { setPassword(e.target.value); setErrors((x) => ({ ...x, password: undefined })); }}
        error={errors.password} />
      <Field label={t('twoStep.codeOrRecovery')} name="code" type="text" autoComplete="one-time-code" spellCheck={false}
        autoCapitalize="none" required value={code}
        onChange={(e) => { setCode(e.target.value); setErrors((x) => ({ ...x, code: undefined })); }}
        error={errors.code} />
      <button type="submit" className={destructive ? 'destructive' : undefined} disabled={busy}>{submit}</button>
    </form>
  );
}

export function TwoStepSection() {
  const { client, user } = useAuth();
  const { t, problem } = useI18n();
  const message = useSectionProblem('mfa.error', ['invalid_code']);
  const [status, setStatus] = useState<MfaStatus | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState('');
  const [codeError, setCodeError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setStatus(await client.mfaStatus());
      setLoadError(null);
    } catch (error) {
      setLoadError(problem(error));
    }
  }, [client, problem]);

  useEffect(() => {
    void load();
  }, [load, user?.phone_verified]);

  async function start() {
    setDone(null);
    setFormError(null);
    setBusy(true);
    try {
      setEnrolment(await client.totpStart());
      setCode('');
      setCodeError(null);
    } catch (error) {
      setFormError(problem(error));
    } finally {
      setBusy(false);
    }
  }

  async function confirm(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const digits = normalizeCode(code);
    if (!digits) return setCodeError(t('validation.required'));
    if (!CODE_PATTERN.test(digits)) return setCodeError(t('mfa.codeFormat'));
    setCodeError(null);
    setBusy(true);
    try {
      const fresh = await client.totpConfirm(digits);
      setEnrolment(null);
      setCode('');
      setCodes(fresh);
      setDone(t('twoStep.enabled'));
      void load();
    } catch (error) {
      setCode('');
      if (error instanceof ApiError && error.code === 'invalid_code') setCodeError(message(error));
      else setFormError(message(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('twoStep.section')}>
      <FormError message={loadError} />
      <FormError message={formError} />
      {status === null && !loadError ? <p role="status">{t('common.loading')}</p> : null}
      {codes ? (
        <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />
      ) : status && !status.totp && enrolment ? (
        <div className="enrol">
          <p>{t('twoStep.scan')}</p>
          <img className="qr" src={svgDataUrl(enrolment.qr_svg)} alt={t('twoStep.qrAlt')} width={200} height={200} />
          <p>
            {t('twoStep.secret')} <code className="secret">{enrolment.secret}</code>
          </p>
          <form onSubmit={confirm} noValidate>
            <Field label={t('twoStep.codeLabel')} name="code" type="text" inputMode="numeric" autoComplete="one-time-code"
              spellCheck={false} required value={code}
              onChange={(e) => { setCode(e.target.value); setCodeError(null); }} error={codeError} />
            <div className="actions">
              <button type="submit" className="primary" disabled={busy}>
                {busy ? t('twoStep.confirming') : t('twoStep.confirm')}
              </button>
              <button type="button" onClick={() => setEnrolment(null)}>{t('twoStep.cancel')}</button>
            </div>
          </form>
        </div>
      ) : status && !status.totp ? (
        <>
          <p>{t('twoStep.off')}</p>
          <button type="button" className="primary" onClick={() => void start()} disabled={busy}>
            {busy ? t('twoStep.starting') : t('twoStep.setUp')}
          </button>
        </>
      ) : status ? (
        <>
          <p>{t('twoStep.on')}</p>
          {status.sms ? <p className="muted">{t('twoStep.smsOn')}</p> : null}
          <p className="muted">{t('twoStep.codesLeft', { count: status.recovery_codes_left })}</p>
          <PasswordAndCodeForm heading={t('twoStep.regenerateSection')} hint={t('twoStep.regenerateHint')}
            submit={t('twoStep.regenerate')}
            onSubmit={async (password, c) => {
              setDone(null);
              setCodes(await client.regenerateRecoveryCodes(password, c));
              void load();
            }} />
          <PasswordAndCodeForm heading={t('twoStep.disableSection')} submit={t('twoStep.disable')} destructive
            onSubmit={async (password, c) => {
              setDone(null);
              await client.totpDisable(password, c);
              setDone(t('twoStep.disabled'));
              void load();
            }} />
        </>
      ) : null}
      <Notice message={done} />
    </Card>
  );
}

export function PhoneSection() {
  const { client, user, setUser, reloadUser } = useAuth();
  const { t, problem } = useI18n();
  const message = useSectionProblem('phone.error', ['invalid_code', 'code_attempts_exceeded', 'conflict']);
  const [phone, setPhone] = useState('');
  /** The number a code went to and waits for confirmation (this page only). */
  const [pending, setPending] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Partial<Record<'phone' | 'code' | 'password', string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const cooldown = useCooldown();

  const current = user?.phone ?? null;
  const verified = Boolean(current && user?.phone_verified);

  async function send(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    setDone(null);
    const value = phone.trim();
    if (!value) return setErrors({ phone: t('validation.required') });
    setErrors({});
    setBusy(true);
    try {
      const result = await client.addPhone(value);
      const number = result?.phone || value;
      setPending(number);
      setCode('');
      setDone(t('phone.sent', { phone: number }));
      cooldown.start(RESEND_COOLDOWN_SECONDS);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'rate_limited' && error.retryAfter) cooldown.start(error.retryAfter);
      const code = error instanceof ApiError ? error.code : null;
      const onField = code === 'invalid_field' || code === 'conflict' || (error instanceof ApiError && error.field === 'phone');
      if (onField) setErrors({ phone: message(error) });
      else setFormError(message(error));
    } finally {
      setBusy(false);
    }
  }

  async function verify(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    setDone(null);
    const digits = normalizeCode(code);
    if (!digits) return setErrors({ code: t('validation.required') });
    if (!CODE_PATTERN.test(digits)) return setErrors({ code: t('mfa.codeFormat') });
    setErrors({});
    setBusy(true);
    try {
      const result = await client.verifyPhone(digits);
      const number = result?.phone || pending || '';
      if (user) setUser({ ...user, phone: number, phone_verified: true });
      setPending(null);
      setPhone('');
      setCode('');
      setDone(t('phone.confirmed', { phone: number }));
      void reloadUser();
    } catch (error) {
      setCode('');
      const code = error instanceof ApiError ? error.code : null;
      if (code === 'invalid_code' || code === 'code_attempts_exceeded') setErrors({ code: message(error) });
      else setFormError(message(error));
    } finally {
      setBusy(false);
    }
  }

  async function remove(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    setDone(null);
    if (!password) return setErrors({ password: t('validation.required') });
    setErrors({});
    setBusy(true);
    try {
      await client.removePhone(password);
      if (user) setUser({ ...user, phone: null, phone_verified: false });
      setPassword('');
      setDone(t('phone.removed'));
      void reloadUser();
    } catch (error) {
      setPassword('');
      if (error instanceof ApiError && error.code === 'invalid_credentials') setErrors({ password: problem(error) });
      else setFormError(message(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('phone.section')}>
      <FormError message={formError} />
      {current ? (
        <p>
          {t('phone.current', { phone: current })}{' '}
          <span className={verified ? 'badge ok' : 'badge warn'}>{verified ? t('phone.verified') : t('phone.notVerified')}</span>
        </p>
      ) : (
        <p className="muted">{t('phone.none')}</p>
      )}
      {pending ? (
        <form onSubmit={verify} noValidate>
          <Field label={t('phone.codeLabel')} name="code" type="text" inputMode="numeric" autoComplete="one-time-code"
            spellCheck={false} required value={code}
            onChange={(e) => { setCode(e.target.value); setErrors((x) => ({ ...x, code: undefined })); }}
            error={errors.code} />
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? t('phone.verifying') : t('phone.verify')}
            </button>
            <button type="button" onClick={() => { setPending(null); setErrors({}); }}>{t('phone.change')}</button>
          </div>
          {cooldown.remaining > 0 ? <p className="muted">{t('mfa.smsWait', { seconds: cooldown.remaining })}</p> : null}
        </form>
      ) : (
        <form onSubmit={send} noValidate>
          <Field label={t('phone.label')} name="phone" type="tel" autoComplete="tel" inputMode="tel" required
            value={phone} onChange={(e) => { setPhone(e.target.value); setErrors((x) => ({ ...x, phone: undefined })); }}
            error={errors.phone} hint={t('phone.hint')} />
          <button type="submit" disabled={busy || cooldown.remaining > 0}>
            {busy ? t('phone.adding') : t('phone.add')}
          </button>
          {cooldown.remaining > 0 ? <p className="muted">{t('mfa.smsWait', { seconds: cooldown.remaining })}</p> : null}
        </form>
      )}
      {current && !pending ? (
        <form onSubmit={remove} noValidate>
          <h3>{t('phone.remove')}</h3>
          <input type="text" name="username" autoComplete="username" value={user?.email ?? ''} readOnly hidden />
          <Field label={t('field.current')} name="password" type="password" autoComplete="current-password" required
            value={password} onChange={(e) => { setPassword(e.target.value); setErrors((x) => ({ ...x, password: undefined })); }}
            error={errors.password} />
          <button type="submit" className="destructive" disabled={busy}>{t('phone.remove')}</button>
        </form>
      ) : null}
      <Notice message={done} />
    </Card>
  );
}
