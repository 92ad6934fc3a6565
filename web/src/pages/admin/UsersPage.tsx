// The users table: search, filters (status, role, e-mail verified), sorting by column, and
// cursor pagination (state in tableState.ts).
import { useEffect, useReducer, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation, useSearchParams } from 'react-router-dom';
import { USER_SORTS, USER_STATUSES, type AdminUser, type UserQuery, type UserSort } from '../../api/admin';
import { Notice, PageTitle } from '../../components/forms';
import { useI18n } from '../../i18n/I18nProvider';
import { useDateFormat } from '../../i18n/useDateFormat';
import { LoadError, useAdminApi } from './AdminLayout';
import { currentCursor, initialTable, pageNumber, tableReducer } from './tableState';

export const USERS_PAGE_SIZE = 20;

type Filters = Required<Pick<UserQuery, 'q' | 'status' | 'role' | 'verified' | 'sort'>>;

type Column = 'email' | 'name' | 'created_at';

/** The filters kept in the address (so that "back" from a user returns to the same list). */
export function filtersFromParams(params: URLSearchParams): Filters {
  const status = params.get('status') ?? '';
  const verified = params.get('verified') ?? '';
  const sort = params.get('sort') ?? '';
  return {
    q: params.get('q') ?? '',
    status: (USER_STATUSES as readonly string[]).includes(status) ? (status as Filters['status']) : '',
    role: params.get('role') ?? '',
    verified: verified === 'true' || verified === 'false' ? verified : '',
    sort: (USER_SORTS as readonly string[]).includes(sort) ? (sort as UserSort) : 'created_at',
  };
}

function paramsFromFilters(filters: Filters): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(filters)) {
    if (value && !(key === 'sort' && value === 'created_at')) out[key] = value;
  }
  return out;
}

/** The sort after activating a column header: ascending first, then the other way. */
export function nextSort(current: UserSort, column: Column): UserSort {
  if (current === column) return `-${column}` as UserSort;
  return column;
}

function ariaSort(current: UserSort, column: Column): 'ascending' | 'descending' | undefined {
  if (current === column) return 'ascending';
  if (current === `-${column}`) return 'descending';
  return undefined;
}

export function UsersPage() {
  const api = useAdminApi();
  const { t } = useI18n();
  const formatDate = useDateFormat();
  const [params, setParams] = useSearchParams();
  const [state, dispatch] = useReducer(tableReducer<Filters>, filtersFromParams(params), initialTable);
  const [search, setSearch] = useState(state.filters.q);
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [roles, setRoles] = useState<string[]>([]);
  const [reload, setReload] = useState(0);
  const seq = useRef(0);
  const cursor = currentCursor(state);
  const location = useLocation();
  const deleted = (location.state as { deleted?: string } | null)?.deleted;

  // Only a change of the filters rewrites the address (keeping its state, e.g. the deleted notice).
  const address = useRef({ params, setParams, state: location.state });
  address.current = { params, setParams, state: location.state };
  useEffect(() => {
    const { params: current, setParams: set, state: navState } = address.current;
    const next = new URLSearchParams(paramsFromFilters(state.filters));
    if (next.toString() !== current.toString()) set(next, { replace: true, state: navState });
  }, [state.filters]);

  useEffect(() => {
    api.roles().then((r) => setRoles(r.roles.map((role) => role.name)), () => setRoles([]));
  }, [api]);

  useEffect(() => {
    const mine = ++seq.current;
    setError(null);
    api
      .listUsers({ ...state.filters, limit: USERS_PAGE_SIZE, cursor })
      .then((page) => {
        if (mine !== seq.current) return;
        setUsers(page.items);
        dispatch({ type: 'loaded', nextCursor: page.nextCursor });
      })
      .catch((err: unknown) => {
        if (mine === seq.current) setError(err);
      });
  }, [api, state.filters, cursor, reload]);

  function onSearch(event: FormEvent) {
    event.preventDefault();
    dispatch({ type: 'filters', filters: { q: search.trim() } });
  }

  const sort = state.filters.sort;
  const header = (column: Column, label: string) => (
    <th scope="col" aria-sort={ariaSort(sort, column)}>
      <button type="button" className="sort" onClick={() => dispatch({ type: 'filters', filters: { sort: nextSort(sort, column) } })}>
        {label}
        <span aria-hidden="true">{sort === column ? ' ▲' : sort === `-${column}` ? ' ▼' : ''}</span>
      </button>
    </th>
  );

  if (error && users === null) {
    return (
      <div className="stack wide">
        <PageTitle>{t('admin.users.title')}</PageTitle>
        <LoadError error={error} onRetry={() => setReload((n) => n + 1)} />
      </div>
    );
  }

  return (
    <div className="stack wide">
      <PageTitle>{t('admin.users.title')}</PageTitle>
      {deleted ? <Notice message={t('admin.user.deleted', { email: deleted })} /> : null}
      <form className="filters" role="search" onSubmit={onSearch} aria-label={t('admin.users.filters')}>
        <div className="field">
          <label htmlFor="users-q">{t('admin.users.search')}</label>
          <div className="inline">
            <input id="users-q" type="search" value={search} onChange={(e) => setSearch(e.target.value)}
              aria-describedby="users-q-hint" />
            <button type="submit">{t('admin.users.searchButton')}</button>
          </div>
          <p id="users-q-hint" className="field-hint">{t('admin.users.searchHint')}</p>
        </div>
        <div className="field">
          <label htmlFor="users-status">{t('admin.users.status')}</label>
          <select id="users-status" value={state.filters.status}
            onChange={(e) => dispatch({ type: 'filters', filters: { status: e.target.value as Filters['status'] } })}>
            <option value="">{t('admin.any')}</option>
            {USER_STATUSES.map((s) => <option key={s} value={s}>{t(`admin.status.${s}`)}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="users-role">{t('admin.users.role')}</label>
          <select id="users-role" value={state.filters.role}
            onChange={(e) => dispatch({ type: 'filters', filters: { role: e.target.value } })}>
            <option value="">{t('admin.any')}</option>
            {roles.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="users-verified">{t('admin.users.verified')}</label>
          <select id="users-verified" value={state.filters.verified}
            onChange={(e) => dispatch({ type: 'filters', filters: { verified: e.target.value as Filters['verified'] } })}>
            <option value="">{t('admin.any')}</option>
            <option value="true">{t('admin.yes')}</option>
            <option value="false">{t('admin.no')}</option>
          </select>
        </div>
      </form>
      {error ? <LoadError error={error} onRetry={() => setReload((n) => n + 1)} /> : null}
      <div className="table-wrap">
        <table className="data">
          <caption>{t('admin.users.caption', { page: pageNumber(state) })}</caption>
          <thead>
            <tr>
              {header('email', t('field.email'))}
              {header('name', t('field.name'))}
              <th scope="col">{t('admin.users.status')}</th>
              <th scope="col">{t('admin.users.verified')}</th>
              <th scope="col">{t('admin.users.roles')}</th>
              {header('created_at', t('admin.users.created'))}
            </tr>
          </thead>
          <tbody>
            {(users ?? []).map((u) => (
              <tr key={u.id}>
                <td><Link to={`/admin/users/${encodeURIComponent(u.id)}`}>{u.email}</Link></td>
                <td>{u.name}</td>
                <td><span className={`badge status-${u.status}`}>{t(`admin.status.${u.status}`)}</span></td>
                <td>{u.email_verified ? t('admin.yes') : t('admin.no')}</td>
                <td>{u.roles.join(', ')}</td>
                <td>{formatDate(u.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p role="status" className="muted">
        {users === null ? t('common.loading') : users.length === 0 ? t('admin.users.none') : t('admin.users.shown', { count: users.length })}
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
