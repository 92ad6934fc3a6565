// Profile section for social accounts: the linked ones (unlink) and the providers not linked yet
// (link: a full-page trip to the provider that comes back to /profile, or /profile?error=<code>).
import { useCallback, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { ApiError, type LinkedIdentity, type Provider } from '../api/client';
import { errorFromQuery } from '../api/problem';
import { useAuth } from '../auth/AuthProvider';
import { Card, FormError, Notice } from '../components/forms';
import { useI18n } from '../i18n/I18nProvider';
import { useDateFormat } from '../i18n/useDateFormat';

/** Navigates the whole page (the provider's login is on another origin); replaceable in tests. */
export const navigation = {
  assign(url: string) {
    window.location.assign(url);
  },
};

export function LinkedAccountsSection() {
  const { client } = useAuth();
  const { t, problem } = useI18n();
  const formatDate = useDateFormat();
  const [params, setParams] = useSearchParams();
  const [providers, setProviders] = useState<Provider[] | null>(null);
  const [identities, setIdentities] = useState<LinkedIdentity[] | null>(null);
  const [error, setError] = useState<unknown>(() => errorFromQuery(params.get('error')));
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  useEffect(() => {
    if (!params.has('error')) return;
    setError(errorFromQuery(params.get('error')));
    const next = new URLSearchParams(params);
    next.delete('error');
    setParams(next, { replace: true });
  }, [params, setParams]);

  const load = useCallback(async () => {
    try {
      const [offered, linked] = await Promise.all([client.providers(), client.identities()]);
      setProviders(offered);
      setIdentities(linked);
    } catch (err) {
      // Without social login the server has no such endpoints: nothing to show.
      if (err instanceof ApiError && err.status === 404) {
        setProviders([]);
        setIdentities([]);
      } else {
        setError(err);
      }
    }
  }, [client]);

  useEffect(() => {
    void load();
  }, [load]);

  async function link(provider: Provider) {
    setBusy(provider.id);
    setError(null);
    setDone(null);
    try {
      navigation.assign(await client.linkIdentity(provider.id, `${window.location.origin}/profile`));
    } catch (err) {
      setError(err);
      setBusy(null);
    }
  }

  async function unlink(identity: LinkedIdentity) {
    setBusy(identity.id);
    setError(null);
    setDone(null);
    try {
      await client.unlinkIdentity(identity.id);
      setIdentities((list) => list?.filter((i) => i.id !== identity.id) ?? null);
      setDone(t('identities.unlinked'));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }

  const loaded = providers !== null && identities !== null;
  // A server without social login and an account without linked identities: no section at all.
  if (loaded && providers.length === 0 && identities.length === 0 && !error) return null;
  const unlinked = (providers ?? []).filter((p) => !(identities ?? []).some((i) => i.provider === p.id));

  return (
    <Card title={t('identities.section')}>
      <p className="muted">{t('identities.hint')}</p>
      <FormError message={error ? problem(error) : null} />
      {!loaded && !error ? <p role="status">{t('common.loading')}</p> : null}
      {loaded ? (
        identities.length === 0 ? (
          <p className="muted">{t('identities.none')}</p>
        ) : (
          <ul className="identities">
            {identities.map((identity) => {
              const name = identity.provider_name || identity.provider;
              return (
                <li key={identity.id}>
                  <div>
                    <strong>{t('identities.linked', { name, email: identity.email })}</strong>
                    <div className="muted">{t('identities.since', { date: formatDate(identity.created_at) })}</div>
                  </div>
                  <button type="button" onClick={() => void unlink(identity)} disabled={busy !== null}
                    aria-label={t('identities.unlinkLabel', { name, email: identity.email })}>
                    {t('identities.unlink')}
                  </button>
                </li>
              );
            })}
          </ul>
        )
      ) : null}
      {loaded && unlinked.length > 0 ? (
        <>
          <h3>{t('identities.available')}</h3>
          <div className="actions">
            {unlinked.map((provider) => (
              <button key={provider.id} type="button" onClick={() => void link(provider)} disabled={busy !== null}>
                {busy === provider.id ? t('identities.linking', { name: provider.name }) : t('identities.link', { name: provider.name })}
              </button>
            ))}
          </div>
        </>
      ) : null}
      <Notice message={done} />
    </Card>
  );
}
