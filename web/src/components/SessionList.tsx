// A list of sessions (device, last use, sign-in time, IP) with a sign-out button for each one
// that is not the viewer's own: the profile's "Active sessions" and an admin's view of a user.
import type { SessionInfo } from '../api/client';
import { useI18n } from '../i18n/I18nProvider';
import { useDateFormat } from '../i18n/useDateFormat';
import { describeUserAgent } from '../pages/userAgent';

export function SessionList({ sessions, busyId, onRevoke }: {
  sessions: SessionInfo[];
  busyId: string | null;
  onRevoke: (id: string) => void;
}) {
  const { t } = useI18n();
  const formatDate = useDateFormat();
  const ordered = [...sessions.filter((s) => s.current), ...sessions.filter((s) => !s.current)];
  return (
    <ul className="sessions">
      {ordered.map((s) => {
        const device = describeUserAgent(s.user_agent) || t('sessions.unknownDevice');
        return (
          <li key={s.id} className={s.current ? 'session current' : 'session'}>
            <div>
              <strong>{device}</strong>
              {s.current ? <span className="badge">{t('sessions.current')}</span> : null}
              <div className="muted">
                {t('sessions.lastUsed', { date: formatDate(s.last_used_at) })} ·{' '}
                {t('sessions.created', { date: formatDate(s.created_at) })}
                {s.ip ? <> · {t('sessions.ip', { ip: s.ip })}</> : null}
              </div>
            </div>
            {s.current ? null : (
              <button type="button" onClick={() => onRevoke(s.id)} disabled={busyId === s.id}
                aria-label={t('sessions.revokeLabel', { device })}>
                {t('sessions.revoke')}
              </button>
            )}
          </li>
        );
      })}
    </ul>
  );
}
