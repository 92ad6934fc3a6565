// The admin pages in the whole app: the guard, the users table state (filters, sort, cursor
// pages), and the re-authentication dialog that signs in again and retries.
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../App';
import { createApiClient, type ApiClient } from '../../api/client';
import { json, noContent, problem, scriptedFetch, tokenBody, type Handler, type RecordedCall } from '../../test/fakes';

const ADMIN = {
  id: 'admin1', email: 'boss@example.com', name: 'Boss', state: 'active', email_verified: true,
  roles: ['admin', 'user'], created_at: '2026-11-24T10:00:00Z',
};
const PLAIN = { ...ADMIN, id: 'u0', email: 'plain@example.com', roles: ['user'] };

function adminUser(n: number, extra: Record<string, unknown> = {}) {
  return {
    id: `u${n}`, email: `user${n}@example.com`, name: `User ${n}`, status: 'active', email_verified: true,
    phone: '', phone_verified: false, roles: ['user'], has_password: true,
    created_at: '2026-12-01T10:00:00Z', updated_at: '2026-12-01T10:00:00Z', ...extra,
  };
}

const DETAIL = { ...adminUser(7), factors: { totp: true, recovery_codes_left: 8, sms: false }, sessions_count: 2, identities: [] };
const ROLES = {
  roles: [
    { name: 'admin', permissions: [], builtin: true, users: 1 },
    { name: 'user', permissions: [], builtin: true, users: 30 },
  ],
  permissions: ['users:read'],
};

let client: ApiClient | null = null;

/** Routes by method and path (query included); a function key gets the call for anything else. */
function start(path: string, me: typeof ADMIN, table: Record<string, Handler>, fallback?: Handler) {
  const server = scriptedFetch((call) => {
    const handler = table[`${call.method} ${call.path}`];
    if (handler) return handler(call);
    if (call.path === '/api/auth/refresh') return json(200, tokenBody('A1'));
    if (call.path === '/api/auth/login') return json(200, tokenBody('A2'));
    if (call.method === 'GET' && call.path === '/api/me') return json(200, me);
    if (call.method === 'GET' && call.path === '/api/admin/roles') return json(200, ROLES);
    return fallback ? fallback(call) : problem(404, 'not_found');
  });
  client = createApiClient({ fetch: server.fetch, channel: null, locks: null, jitterMs: () => 0, readCookie: () => 'csrf-1' });
  window.history.pushState({}, '', path);
  render(<App client={client} lang="en" />);
  return server.calls;
}

afterEach(() => {
  cleanup();
  client?.dispose();
  client = null;
});

const adminCalls = (calls: RecordedCall[]) => calls.filter((c) => c.path.startsWith('/api/admin/users')).map((c) => `${c.method} ${c.path}`);

describe('admin guard', () => {
  it('a user without an admin role sees no admin link and "not allowed" at the URL, with no admin call', async () => {
    const calls = start('/admin/users', PLAIN, {});
    expect(await screen.findByRole('heading', { level: 1, name: 'Not allowed' })).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'Administration' })).toBeNull();
    expect(calls.some((c) => c.path.startsWith('/api/admin/'))).toBe(false);
  });

  it('an admin role whose permissions the server refuses (403) also gets "not allowed"', async () => {
    start('/admin/users', { ...ADMIN, roles: ['auditor'] }, { 'GET /api/admin/users?limit=20': () => problem(403, 'forbidden') });
    expect(await screen.findByRole('heading', { level: 1, name: 'Not allowed' })).toBeTruthy();
  });

  it('a signed-out visitor goes to the login page', async () => {
    start('/admin/users', ADMIN, { 'POST /api/auth/refresh': () => problem(401, 'unauthenticated') });
    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeTruthy();
  });
});

describe('users table', () => {
  const page1 = Array.from({ length: 20 }, (_, i) => adminUser(i + 1));
  const page2 = [adminUser(21), adminUser(22)];

  it('loads, searches, filters, sorts and pages with the cursor', async () => {
    const calls = start('/admin/users', ADMIN, {
      'GET /api/admin/users?limit=20': () => json(200, { users: page1, next_cursor: 'c2' }),
      'GET /api/admin/users?limit=20&cursor=c2': () => json(200, { users: page2, next_cursor: null }),
      'GET /api/admin/users?q=user2&limit=20': () => json(200, { users: [adminUser(2)], next_cursor: null }),
      'GET /api/admin/users?q=user2&status=disabled&limit=20': () => json(200, { users: [], next_cursor: null }),
      'GET /api/admin/users?q=user2&status=disabled&sort=email&limit=20': () => json(200, { users: [], next_cursor: null }),
      'GET /api/admin/users?q=user2&status=disabled&sort=-email&limit=20': () => json(200, { users: [], next_cursor: null }),
    });
    expect(await screen.findByRole('link', { name: 'Administration' })).toBeTruthy();
    await screen.findByRole('link', { name: 'user1@example.com' });
    expect(screen.getByText('Users on this page: 20')).toBeTruthy();

    // Next page: the server's cursor; previous: page 1 again without a new cursor.
    fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
    await screen.findByRole('link', { name: 'user22@example.com' });
    expect(screen.getByText('Page 2')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Next page' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Previous page' }));
    await screen.findByRole('link', { name: 'user1@example.com' });
    expect(screen.getByText('Page 1')).toBeTruthy();

    // Search, then a filter: each starts from the first page.
    fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
    await screen.findByRole('link', { name: 'user22@example.com' });
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: ' user2 ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Search' }));
    await screen.findByRole('link', { name: 'user2@example.com' });
    expect(screen.getByText('Page 1')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'disabled' } });
    await screen.findByText('No user matches.');

    // Sorting by a column header: ascending, then descending, told by aria-sort.
    fireEvent.click(screen.getByRole('button', { name: 'E-mail' }));
    await waitFor(() => expect(screen.getByRole('columnheader', { name: /^E-mail( ▲| ▼)?$/ }).getAttribute('aria-sort')).toBe('ascending'));
    fireEvent.click(screen.getByRole('button', { name: /^E-mail( ▲| ▼)?$/ }));
    await waitFor(() => expect(screen.getByRole('columnheader', { name: /^E-mail( ▲| ▼)?$/ }).getAttribute('aria-sort')).toBe('descending'));
    await waitFor(() => expect(adminCalls(calls).at(-1)).toBe('GET /api/admin/users?q=user2&status=disabled&sort=-email&limit=20'));

    expect(adminCalls(calls)).toEqual([
      'GET /api/admin/users?limit=20',
      'GET /api/admin/users?limit=20&cursor=c2',
      'GET /api/admin/users?limit=20',
      'GET /api/admin/users?limit=20&cursor=c2',
      'GET /api/admin/users?q=user2&limit=20',
      'GET /api/admin/users?q=user2&status=disabled&limit=20',
      'GET /api/admin/users?q=user2&status=disabled&sort=email&limit=20',
      'GET /api/admin/users?q=user2&status=disabled&sort=-email&limit=20',
    ]);
  });

  it('keeps the filters in the address and starts from them', async () => {
    const calls = start('/admin/users?q=kim&status=disabled&sort=-name&verified=maybe', ADMIN, {
      'GET /api/admin/users?q=kim&status=disabled&sort=-name&limit=20': () => json(200, { users: [adminUser(3)], next_cursor: null }),
      'GET /api/admin/users?q=kim&sort=-name&limit=20': () => json(200, { users: [adminUser(3)], next_cursor: null }),
    });
    await screen.findByRole('link', { name: 'user3@example.com' });
    expect((screen.getByLabelText('Search') as HTMLInputElement).value).toBe('kim');
    expect((screen.getByLabelText('Status') as HTMLSelectElement).value).toBe('disabled');
    // The unreadable "verified" value was dropped from the address.
    expect(window.location.search).toBe('?q=kim&status=disabled&sort=-name');
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: '' } });
    await waitFor(() => expect(window.location.search).toBe('?q=kim&sort=-name'));
    await waitFor(() => expect(adminCalls(calls).at(-1)).toBe('GET /api/admin/users?q=kim&sort=-name&limit=20'));
  });
});

describe('user detail and re-authentication', () => {
  function detailServer(patch: Handler, extra: Record<string, Handler> = {}) {
    let detail = { ...DETAIL };
    return {
      'GET /api/admin/users/u7': () => json(200, detail),
      'PATCH /api/admin/users/u7': async (call: RecordedCall) => {
        const response = await patch(call);
        if (response.ok) detail = { ...detail, ...(call.body as object) };
        return response;
      },
      'GET /api/me/sessions': () => json(200, { sessions: [{ id: 'old-session', current: true, created_at: '', last_used_at: '', ip: '', user_agent: '' }] }),
      'DELETE /api/me/sessions/old-session': () => noContent(),
      'GET /api/admin/users/u7/sessions': () => json(200, { sessions: [] }),
      ...extra,
    };
  }

  it("lists the user's sessions and signs one out", async () => {
    const sessions = [
      { id: 's-1', current: false, created_at: '2026-11-30T10:00:00Z', last_used_at: '2026-12-01T09:00:00Z', ip: '203.0.113.7', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0' },
      { id: 's-2', current: false, created_at: '2026-11-29T10:00:00Z', last_used_at: '2026-11-30T09:00:00Z', ip: '198.51.100.2', user_agent: '' },
    ];
    const calls = start(
      '/admin/users/u7',
      ADMIN,
      detailServer(() => json(200, adminUser(7)), {
        'GET /api/admin/users/u7/sessions': () => json(200, { sessions }),
        'DELETE /api/admin/users/u7/sessions/s-1': () => noContent(),
      }),
    );
    const card = await screen.findByRole('region', { name: 'Sessions' });
    expect(await within(card).findByText(/203\.0\.113\.7/)).toBeTruthy();
    const buttons = within(card).getAllByRole('button', { name: /^Sign out the session on/ });
    expect(buttons).toHaveLength(2);
    fireEvent.click(buttons[0]);
    expect(await within(card).findByText('The session was signed out.')).toBeTruthy();
    expect(calls.some((c) => c.method === 'DELETE' && c.path === '/api/admin/users/u7/sessions/s-1')).toBe(true);
  });

  it('edits the name with a patch of only what changed', async () => {
    const calls = start('/admin/users/u7', ADMIN, detailServer((call) => json(200, { ...adminUser(7), ...(call.body as object) })));
    await screen.findByRole('heading', { level: 1, name: 'User 7' });
    const profile = screen.getByRole('region', { name: 'Profile' });
    fireEvent.change(within(profile).getByLabelText('Name'), { target: { value: 'Seven Kim' } });
    fireEvent.click(within(profile).getByRole('button', { name: 'Save' }));
    expect(await within(profile).findByText('The changes were saved.')).toBeTruthy();
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ name: 'Seven Kim' });
  });

  it('asks for the password on reauthentication_required, signs in again, ends the old session and retries once', async () => {
    let patches = 0;
    const calls = start(
      '/admin/users/u7',
      ADMIN,
      detailServer(() => (++patches === 1 ? problem(401, 'reauthentication_required') : json(200, adminUser(7, { status: 'disabled' })))),
    );
    await screen.findByRole('heading', { level: 1, name: 'User 7' });
    fireEvent.click(screen.getByRole('button', { name: 'Disable the account' }));

    const dialog = await screen.findByRole('dialog', { name: 'Confirm it is you' });
    expect(document.activeElement).toBe(within(dialog).getByLabelText('Password'));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Sign in and continue' }));
    expect(await within(dialog).findByText('Please fill in this field.')).toBeTruthy();
    fireEvent.change(within(dialog).getByLabelText('Password'), { target: { value: 'admin password' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Sign in and continue' }));

    expect(await screen.findByText('The account was disabled and its sessions were ended.')).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
    const login = calls.find((c) => c.path === '/api/auth/login');
    expect(login?.body).toEqual({ email: 'boss@example.com', password: 'admin password', mode: 'cookie' });
    const order = calls.map((c) => `${c.method} ${c.path}`).filter((k) => /PATCH|login|\/api\/me\/sessions/.test(k));
    expect(order).toEqual([
      'PATCH /api/admin/users/u7',
      'GET /api/me/sessions',
      'POST /api/auth/login',
      'DELETE /api/me/sessions/old-session',
      'PATCH /api/admin/users/u7',
    ]);
    const patchCalls = calls.filter((c) => c.method === 'PATCH');
    expect(patchCalls.every((c) => JSON.stringify(c.body) === '{"status":"disabled"}')).toBe(true);
    expect(patchCalls.map((c) => c.headers.authorization)).toEqual(['Bearer A1', 'Bearer A2']);
  });

  it('shows a wrong password in the dialog and lets the admin cancel: nothing is done, and the page says so', async () => {
    const calls = start(
      '/admin/users/u7',
      ADMIN,
      detailServer(() => problem(401, 'reauthentication_required'), {
        'POST /api/auth/login': () => problem(401, 'invalid_credentials'),
      }),
    );
    await screen.findByRole('heading', { level: 1, name: 'User 7' });
    fireEvent.click(screen.getByRole('button', { name: 'Disable the account' }));
    const dialog = await screen.findByRole('dialog', { name: 'Confirm it is you' });
    fireEvent.change(within(dialog).getByLabelText('Password'), { target: { value: 'wrong' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Sign in and continue' }));
    expect(await within(dialog).findByText('The e-mail address or password is not correct.')).toBeTruthy();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(await screen.findByText(/This action needs a recent sign-in/)).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(calls.filter((c) => c.method === 'PATCH')).toHaveLength(1);
    expect(client?.state).toBe('signed-in');
  });

  it('takes the second step in the dialog when the admin has two-step verification', async () => {
    let patches = 0;
    const calls = start(
      '/admin/users/u7',
      ADMIN,
      detailServer(() => (++patches === 1 ? problem(401, 'reauthentication_required') : json(200, adminUser(7, { status: 'disabled' }))), {
        'POST /api/auth/login': () => json(200, { mfa_required: true, mfa_token: 'm1', methods: ['totp', 'recovery_code'], expires_in: 300 }),
        'POST /api/auth/mfa/verify': (call) =>
          (call.body as { code: string }).code === '123456' ? json(200, tokenBody('A2')) : problem(400, 'invalid_code'),
      }),
    );
    await screen.findByRole('heading', { level: 1, name: 'User 7' });
    fireEvent.click(screen.getByRole('button', { name: 'Disable the account' }));
    const dialog = await screen.findByRole('dialog', { name: 'Confirm it is you' });
    fireEvent.change(within(dialog).getByLabelText('Password'), { target: { value: 'pw' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Sign in and continue' }));
    const code = await within(dialog).findByLabelText('Code from your authenticator app');
    fireEvent.change(code, { target: { value: '000000' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Sign in and continue' }));
    expect(await within(dialog).findByText('This code is not correct. Check it and try again.')).toBeTruthy();
    fireEvent.change(within(dialog).getByLabelText('Code from your authenticator app'), { target: { value: '123 456' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Sign in and continue' }));
    expect(await screen.findByText('The account was disabled and its sessions were ended.')).toBeTruthy();
    const last = calls.filter((c) => c.method === 'PATCH').at(-1);
    expect(last?.headers.authorization).toBe('Bearer A2');
  });

  it("offers neither disable nor delete on the signed-in admin's own account", async () => {
    start('/admin/users/admin1', ADMIN, {
      'GET /api/admin/users/admin1': () => json(200, { ...DETAIL, ...adminUser(1, { id: 'admin1', name: 'Boss', roles: ['admin', 'user'] }) }),
    });
    await screen.findByRole('heading', { level: 1, name: 'Boss' });
    expect(screen.getByText(/This is your own account/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Disable the account' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete the account' })).toBeNull();
  });

  it('maps last_admin on a role change to its message', async () => {
    start('/admin/users/u7', ADMIN, detailServer(() => problem(409, 'last_admin')));
    await screen.findByRole('heading', { level: 1, name: 'User 7' });
    fireEvent.click(await screen.findByRole('checkbox', { name: 'admin' }));
    fireEvent.click(screen.getByRole('button', { name: 'Save the roles' }));
    expect(await screen.findByText('This would leave no active administrator, so nothing was changed.')).toBeTruthy();
  });

  it('deletes only after the address is typed, then returns to the table with a notice', async () => {
    const calls = start('/admin/users/u7', ADMIN, {
      ...detailServer(() => json(200, adminUser(7))),
      'DELETE /api/admin/users/u7': () => noContent(),
      'GET /api/admin/users?limit=20': () => json(200, { users: [], next_cursor: null }),
    });
    await screen.findByRole('heading', { level: 1, name: 'User 7' });
    const button = screen.getByRole('button', { name: 'Delete the account' }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText('Type user7@example.com to confirm'), { target: { value: 'USER7@example.com' } });
    expect(button.disabled).toBe(false);
    fireEvent.click(button);
    expect(await screen.findByText('The account user7@example.com was deleted.')).toBeTruthy();
    expect(window.location.pathname).toBe('/admin/users');
    expect(calls.some((c) => c.method === 'DELETE' && c.path === '/api/admin/users/u7')).toBe(true);
  });
});

describe('create user', () => {
  it('sends an invite by default and opens the new user', async () => {
    const calls = start('/admin/users/new', ADMIN, {
      'POST /api/admin/users': () => json(201, adminUser(9, { status: 'pending' })),
      'GET /api/admin/users/u9': () => json(200, { ...DETAIL, ...adminUser(9, { status: 'pending' }) }),
    });
    await screen.findByRole('heading', { level: 1, name: 'New user' });
    fireEvent.change(screen.getByLabelText('E-mail'), { target: { value: ' new@example.com ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create the user' }));
    expect(await screen.findByText('The account user9@example.com was created.')).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST' && c.path === '/api/admin/users')?.body).toEqual({
      email: 'new@example.com', roles: ['user'], send_invite: true,
    });
  });

  it('shows a taken address at the e-mail field', async () => {
    start('/admin/users/new', ADMIN, { 'POST /api/admin/users': () => problem(409, 'conflict') });
    await screen.findByRole('heading', { level: 1, name: 'New user' });
    fireEvent.change(screen.getByLabelText('E-mail'), { target: { value: 'taken@example.com' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create the user' }));
    expect(await screen.findByText('Another account already uses this e-mail address.')).toBeTruthy();
    expect(screen.getByLabelText('E-mail').getAttribute('aria-invalid')).toBe('true');
  });
});

describe('audit log', () => {
  it('filters by type and shows the changes of admin events', async () => {
    const calls = start('/admin/audit?user=u7', ADMIN, {
      'GET /api/admin/audit?user=u7&limit=50': () =>
        json(200, {
          events: [{ id: 'e1', time: '2026-12-01T10:00:00Z', type: 'admin.user.updated', outcome: 'success', actor_id: 'admin1',
            subject_id: 'u7', ip: '127.0.0.1', user_agent: '', details: { changes: { status: { before: 'active', after: 'disabled' } } } }],
          next_cursor: null,
        }),
      'GET /api/admin/audit?user=u7&type=login&limit=50': () => json(200, { events: [], next_cursor: null }),
    });
    expect(await screen.findByText('status: "active" → "disabled"')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Event'), { target: { value: 'login' } });
    fireEvent.click(screen.getByRole('button', { name: 'Show' }));
    expect(await screen.findByText('No event matches.')).toBeTruthy();
    expect(calls.filter((c) => c.path.startsWith('/api/admin/audit')).map((c) => c.path)).toEqual([
      '/api/admin/audit?user=u7&limit=50',
      '/api/admin/audit?user=u7&type=login&limit=50',
    ]);
  });
});

describe('roles', () => {
  it('creates a role with the chosen permissions and explains role_in_use', async () => {
    let roles = {
      roles: [
        { name: 'admin', permissions: ['users:read', 'audit:read'], builtin: true, users: 1 },
        { name: 'ops', permissions: ['audit:read'], builtin: false, users: 2 },
      ],
      permissions: ['users:read', 'audit:read'],
    };
    const calls = start('/admin/roles', ADMIN, {
      'GET /api/admin/roles': () => json(200, roles),
      'POST /api/admin/roles': (call) => {
        const body = call.body as { name: string; permissions: string[] };
        roles = { ...roles, roles: [...roles.roles, { ...body, builtin: false, users: 0 }] };
        return json(201, { ...body, builtin: false, users: 0 });
      },
      'DELETE /api/admin/roles/ops': () => problem(409, 'role_in_use'),
    });
    await screen.findByRole('region', { name: 'ops' });
    // Built-in roles cannot be changed: no buttons, boxes disabled.
    const builtin = screen.getByRole('region', { name: 'admin' });
    expect(within(builtin).queryByRole('button')).toBeNull();
    expect((within(builtin).getByRole('checkbox', { name: 'users:read' }) as HTMLInputElement).disabled).toBe(true);

    const create = screen.getByRole('region', { name: 'New role' });
    fireEvent.change(within(create).getByLabelText('Name'), { target: { value: 'Bad Name' } });
    fireEvent.click(within(create).getByRole('button', { name: 'Create the role' }));
    expect(within(create).getByLabelText('Name').getAttribute('aria-invalid')).toBe('true');
    fireEvent.change(within(create).getByLabelText('Name'), { target: { value: 'support' } });
    fireEvent.click(within(create).getByRole('checkbox', { name: 'users:read' }));
    fireEvent.click(within(create).getByRole('button', { name: 'Create the role' }));
    expect(await screen.findByText('The role support was created.')).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST' && c.path === '/api/admin/roles')?.body).toEqual({ name: 'support', permissions: ['users:read'] });
    await screen.findByRole('region', { name: 'support' });

    fireEvent.click(screen.getByRole('button', { name: 'Delete the role ops' }));
    expect(await screen.findByText('This role is still given to users (2). Take it away from them first.')).toBeTruthy();
  });
});
