// The admin API client: paths and query strings, bodies, pages, and how admin refusals surface.
import { afterEach, describe, expect, it } from 'vitest';
import { adminApi, auditPath, mayAdminister, queryString, usersPath } from './admin';
import { createApiClient, type ApiClient } from './client';
import { json, noContent, problem, scriptedFetch, tokenBody, type Handler } from '../test/fakes';

const clients: ApiClient[] = [];

async function makeApi(table: Record<string, Handler>) {
  const server = scriptedFetch((call) => {
    const key = `${call.method} ${call.path}`;
    if (table[key]) return table[key](call);
    if (key === 'POST /api/auth/login' || key === 'POST /api/auth/refresh') return json(200, tokenBody('A1'));
    return problem(404, 'not_found');
  });
  const client = createApiClient({
    fetch: server.fetch,
    channel: null,
    locks: null,
    jitterMs: () => 0,
    readCookie: (name) => (name === 'latchkey_csrf' ? 'csrf-9' : undefined),
  });
  clients.push(client);
  await client.login('admin@example.com', 'pw');
  server.calls.length = 0;
  return { api: adminApi(client), client, calls: server.calls };
}

afterEach(() => {
  while (clients.length) clients.pop()!.dispose();
});

const USER = {
  id: 'u1', email: 'a@example.com', name: 'A', status: 'active', email_verified: true, phone: '', phone_verified: false,
  roles: ['user'], has_password: true, created_at: '2026-12-01T10:00:00Z', updated_at: '2026-12-01T10:00:00Z',
};

describe('query strings', () => {
  it('leave out empty values and keep the order given', () => {
    expect(queryString({ a: '', b: null, c: undefined })).toBe('');
    expect(queryString({ q: 'kim lee', n: 3, z: 'a&b' })).toBe('?q=kim+lee&n=3&z=a%26b');
  });

  it('build the users path: trimmed search, filters, the default sort left out, the cursor', () => {
    expect(usersPath({})).toBe('/api/admin/users');
    expect(usersPath({ q: '  +8210 ', status: 'disabled', role: 'admin', verified: 'false', sort: 'created_at', limit: 20 })).toBe(
      '/api/admin/users?q=%2B8210&status=disabled&role=admin&verified=false&limit=20',
    );
    expect(usersPath({ sort: '-email', cursor: 'abc/+=' })).toBe('/api/admin/users?sort=-email&cursor=abc%2F%2B%3D');
  });

  it('build the audit path', () => {
    expect(auditPath({ type: 'login', since: '2026-12-01T00:00:00Z', user: ' u1 ', cursor: null })).toBe(
      '/api/admin/audit?user=u1&type=login&since=2026-12-01T00%3A00%3A00Z',
    );
  });
});

describe('mayAdminister', () => {
  it('is false for no roles or only "user", true for admin or any other role', () => {
    expect(mayAdminister(undefined)).toBe(false);
    expect(mayAdminister([])).toBe(false);
    expect(mayAdminister(['user'])).toBe(false);
    expect(mayAdminister(['user', 'admin'])).toBe(true);
    expect(mayAdminister(['auditor'])).toBe(true);
  });
});

describe('admin client', () => {
  it('lists users with the bearer token and reads the next cursor (null at the end)', async () => {
    const { api, calls } = await makeApi({
      'GET /api/admin/users?q=a&limit=2': () => json(200, { users: [USER, USER], next_cursor: 'c2' }),
      'GET /api/admin/users?q=a&limit=2&cursor=c2': () => json(200, { users: [USER], next_cursor: null }),
    });
    const first = await api.listUsers({ q: 'a', limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toBe('c2');
    const second = await api.listUsers({ q: 'a', limit: 2, cursor: first.nextCursor });
    expect(second).toEqual({ items: [USER], nextCursor: null });
    expect(calls[0].headers.authorization).toBe('Bearer A1');
  });

  it('refuses a page without a list', async () => {
    const { api } = await makeApi({ 'GET /api/admin/users': () => json(200, { nope: true }) });
    await expect(api.listUsers({})).rejects.toMatchObject({ code: 'internal' });
  });

  it('sends patches, deletes and actions with the CSRF header to the right paths', async () => {
    const { api, calls } = await makeApi({
      'PATCH /api/admin/users/u%2F1': () => json(200, { ...USER, status: 'disabled' }),
      'DELETE /api/admin/users/u1': () => noContent(),
      'POST /api/admin/users/u1/sessions/revoke': () => json(200, { revoked: 3 }),
      'POST /api/admin/users/u1/mfa/reset': () => noContent(),
      'POST /api/admin/users/u1/password-reset': () => json(202, { status: 'reset_sent' }),
      'POST /api/admin/users': (call) => json(201, { ...USER, email: (call.body as { email: string }).email }),
    });
    await expect(api.updateUser('u/1', { status: 'disabled' })).resolves.toMatchObject({ status: 'disabled' });
    expect(calls[0].body).toEqual({ status: 'disabled' });
    expect(calls[0].headers['x-csrf-token']).toBe('csrf-9');
    await api.deleteUser('u1');
    await expect(api.revokeSessions('u1')).resolves.toBe(3);
    await api.resetMfa('u1');
    await api.sendPasswordReset('u1');
    await expect(api.createUser({ email: 'n@example.com', send_invite: true })).resolves.toMatchObject({ email: 'n@example.com' });
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'PATCH /api/admin/users/u%2F1',
      'DELETE /api/admin/users/u1',
      'POST /api/admin/users/u1/sessions/revoke',
      'POST /api/admin/users/u1/mfa/reset',
      'POST /api/admin/users/u1/password-reset',
      'POST /api/admin/users',
    ]);
    expect(calls.every((c) => c.headers['x-csrf-token'] === 'csrf-9')).toBe(true);
  });

  it('surfaces reauthentication_required as it is: no refresh, no sign-out', async () => {
    const { api, client, calls } = await makeApi({
      'DELETE /api/admin/users/u1': () => problem(401, 'reauthentication_required'),
    });
    await expect(api.deleteUser('u1')).rejects.toMatchObject({ code: 'reauthentication_required', status: 401 });
    expect(calls.map((c) => c.path)).toEqual(['/api/admin/users/u1']);
    expect(client.state).toBe('signed-in');
  });

  it('surfaces forbidden, last_admin and role_in_use with their codes', async () => {
    const { api } = await makeApi({
      'GET /api/admin/users': () => problem(403, 'forbidden'),
      'PATCH /api/admin/users/u1': () => problem(409, 'last_admin'),
      'DELETE /api/admin/roles/ops': () => problem(409, 'role_in_use'),
    });
    await expect(api.listUsers({})).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await expect(api.updateUser('u1', { roles: ['user'] })).rejects.toMatchObject({ code: 'last_admin' });
    await expect(api.deleteRole('ops')).rejects.toMatchObject({ code: 'role_in_use' });
  });

  it('reads roles and the permission list; roles and audit have their paths', async () => {
    const { api, calls } = await makeApi({
      'GET /api/admin/roles': () =>
        json(200, { roles: [{ name: 'admin', permissions: ['users:read'], builtin: true, users: 1 }], permissions: ['users:read'] }),
      'PATCH /api/admin/roles/ops': () => json(200, { name: 'ops', permissions: ['audit:read'], builtin: false, users: 0 }),
      'GET /api/admin/audit?type=login&limit=50': () => json(200, { events: [], next_cursor: null }),
    });
    await expect(api.roles()).resolves.toMatchObject({ permissions: ['users:read'], roles: [{ name: 'admin' }] });
    await api.updateRole('ops', ['audit:read']);
    expect(calls[1].body).toEqual({ permissions: ['audit:read'] });
    await expect(api.audit({ type: 'login', limit: 50 })).resolves.toEqual({ items: [], nextCursor: null });
  });
});
