// The audit log, newest first: filters (event type, subject, actor, time range) and cursor
// pagination. Admin changes show their fields before and after.
import { useEffect, useReducer, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { AUDIT_TYPES, type AuditEvent, type AuditQuery } from '../../api/admin';
import { PageTitle } from '../../components/forms';
import { useI18n } from '../../i18n/I18nProvider';
import { useDateFormat } from '../../i18n/useDateFormat';
import { LoadError, useAdminApi } from './AdminLayout';
import { currentCursor, initialTable, pageNumber, tableReducer } from './tableState';

export const AUDIT_PAGE_SIZE = 50;

type Filters = Required<Pick<AuditQuery, 'user' | 'actor' | 'type' | 'since' | 'until'>>;

/** A `datetime-local` value (local time) as RFC 3339 UTC; "" stays "" (no bound). */
export function localToRfc3339(value: string): string {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "field: before → after" lines of an admin change, or the details as compact JSON. */
export function describeDetails(details: unknown): string[] {
  if (!details || typeof details !== 'object') return [];
  const changes = (details as { changes?: unknown }).changes;
  if (changes && typeof changes === 'object') {
    return Object.entries(changes as Record<string, { before?: unknown; after?: unknown }>).map(
      ([field, change]) => `${field}: ${JSON.stringify(change?.before ?? null)} → ${JSON.stringify(change?.after ?? null)}`,
    );
  }
  const text = JSON.stringify(details);
  return text === '{}' ? [] : [text];
}

export function AuditPage() {
  const api = useAdminApi();
  const { t } = useI18n();
  const formatDate = useDateFormat();
  const [params] = useSearchParams();
  const initial: Filters = { user: params.get('user') ?? '', actor: '', type: '', since: '', until: '' };
  const [state, dispatch] = useReducer(tableReducer<Filters>, initial, initialTable);
  const [draft, setDraft] = useState({ user: initial.user, actor: '', type: '', since: '', until: '' });
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);
  const seq = useRef(0);
  const cursor = currentCursor(state);

  useEffect(() => {
    const mine = ++seq.current;
    setError(null);
    api
      .audit({ ...state.filters, limit: AUDIT_PAGE_SIZE, cursor })
      .then((page) => {
        if (mine !== seq.current) return;
        setEvents(page.items);
        dispatch({ type: 'loaded', nextCursor: page.nextCursor });
      })
      .catch((err: unknown) => {
        if (mine === seq.current) setError(err);
      });
  }, [api, state.filters, cursor, reload]);

  function onFilter(event: FormEvent) {
    event.preventDefault();
    dispatch({
      type: 'filters',
      filters: {
        user: draft.user.trim(),
        actor: draft.actor.trim(),
        type: draft.type,
        since: localToRfc3339(draft.since),
        until: localToRfc3339(draft.until),
      },
    });
  }

  const input = (key: 'user' | 'actor' | 'since' | 'until', label: string, type = 'text') => (
    <div className="field">
      <label htmlFor={`audit-${key}`}>{label}</label>
      <input id={`audit-${key}`} type={type} value={draft[key]} spellCheck={false}
        onChange={(e) => setDraft((d) => ({ ...d, [key]: e.target.value }))} />
    </div>
  );

  return (
    <div className="stack wide">
      <PageTitle>{t('admin.audit.title')}</PageTitle>
      <form className="filters" onSubmit={onFilter} aria-label={t('admin.audit.filters')}>
        <div className="field">
          <label htmlFor="audit-type">{t('admin.audit.type')}</label>
          <select id="audit-type" value={draft.type} onChange={(e) => setDraft((d) => ({ ...d, type: e.target.value }))}>
            <option value="">{t('admin.any')}</option>
            {AUDIT_TYPES.map((type) => <option key={type} value={type}>{type}</option>)}
          </select>
        </div>
        {input('user', t('admin.audit.user'))}
        {input('actor', t('admin.audit.actor'))}
        {input('since', t('admin.audit.since'), 'datetime-local')}
        {input('until', t('admin.audit.until'), 'datetime-local')}
        <div className="field">
          <button type="submit">{t('admin.audit.apply')}</button>
        </div>
      </form>
      {error ? <LoadError error={error} onRetry={() => setReload((n) => n + 1)} /> : null}
      <div className="table-wrap">
        <table className="data">
          <caption>{t('admin.audit.caption', { page: pageNumber(state) })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.audit.time')}</th>
              <th scope="col">{t('admin.audit.type')}</th>
              <th scope="col">{t('admin.audit.outcome')}</th>
              <th scope="col">{t('admin.audit.actor')}</th>
              <th scope="col">{t('admin.audit.user')}</th>
              <th scope="col">{t('admin.audit.ip')}</th>
              <th scope="col">{t('admin.audit.details')}</th>
            </tr>
          </thead>
          <tbody>
            {(events ?? []).map((e) => (
              <tr key={e.id}>
                <td>{formatDate(e.time)}</td>
                <td><code>{e.type}</code></td>
                <td>{e.outcome}</td>
                <td>{e.actor_id ? <Link to={`/admin/users/${encodeURIComponent(e.actor_id)}`}><code>{e.actor_id}</code></Link> : '—'}</td>
                <td>{e.subject_id ? <Link to={`/admin/users/${encodeURIComponent(e.subject_id)}`}><code>{e.subject_id}</code></Link> : '—'}</td>
                <td>{e.ip || '—'}</td>
                <td>
                  {describeDetails(e.details).map((line) => <div key={line} className="detail">{line}</div>)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p role="status" className="muted">
        {events === null ? (error ? '' : t('common.loading')) : events.length === 0 ? t('admin.audit.none') : t('admin.audit.shown', { count: events.length })}
      </p>
      <nav className="pager" aria-label={t('admin.pager')}>
        <button type="button" onClick={() => dispatch({ type: 'previous' })} disabled={pageNumber(state) <= 1}>
          {t('admin.previous')}
        </button>
        <span>{t('admin.page', { page: pageNumber(state) })}</span>
        <button type="button" onClick={() => dispatch({ type: 'next' })} disabled={!state.nextCursor}>
          {t('admin.next')}
        </button>
      </nav>
    </div>
  );
}
