import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from './App';
import { createApiClient, type ApiClient } from './api/client';
import type { Lang } from './i18n/i18n';
import { json, noContent, problem, scriptedFetch, tokenBody, type Handler } from './test/fakes';

const USER = {
  id: 'u1',
  email: 'ada@example.com',
  name: 'Ada',
  state: 'active',
  email_verified: true,
  roles: ['user'],
  created_at: '2026-11-24T10:00:00Z',
};

const SESSIONS = {
  sessions: [
    { id: 's1', created_at: '2026-11-24T10:00:00Z', last_used_at: '2026-11-24T11:00:00Z', ip: '127.0.0.1',
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', current: true },
    { id: 's2', created_at: '2026-11-20T10:00:00Z', last_used_at: '2026-11-21T11:00:00Z', ip: '10.0.0.2',
      user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1', current: false },
  ],
};

let client: ApiClient | null = null;

function start(path: string, table: Record<string, Handler>, lang: Lang = 'en') {
  const server = scriptedFetch((call) => {
    const handler = table[`${call.method} ${call.path}`];
    return handler ? handler(call) : problem(404, 'not_found');
  });
  client = createApiClient({
    fetch: server.fetch,
    channel: null,
    locks: null,
    jitterMs: () => 0,
    readCookie: () => 'csrf-1',
  });
  window.history.pushState({}, '', path);
  render(<App client={client} lang={lang} />);
  return server.calls;
}

const signedOut: Record<string, Handler> = {
  'POST /api/auth/refresh': () => problem(401, 'unauthenticated'),
};

const signedIn: Record<string, Handler> = {
  'POST /api/auth/refresh': () => json(200, tokenBody('A1')),
  'GET /api/me': () => json(200, USER),
  'GET /api/me/sessions': () => json(200, SESSIONS),
};

afterEach(() => {
  cleanup();
  client?.dispose();
  client = null;
});

function type(label: RegExp | string, value: string) {
  fireEvent.change(screen.getByLabelText(label), { target: { value } });
}

describe('routing guard', () => {
  it('sends a signed-out visitor from /profile to /login after one silent refresh', async () => {
    const calls = start('/profile', signedOut);
    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeTruthy();
    expect(window.location.pathname).toBe('/login');
    expect(calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
  });

  it('shows the profile when the silent refresh succeeds', async () => {
    start('/profile', signedIn);
    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
    expect(await screen.findByText('ada@example.com')).toBeTruthy();
    expect(await screen.findByText('This device')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Sign out the session on Safari · iOS' })).toBeTruthy();
  });

  it('says why when the start-up refresh finds the account disabled', async () => {
    start('/profile', { 'POST /api/auth/refresh': () => problem(403, 'account_disabled') });
    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeTruthy();
    expect(screen.getByRole('status').textContent).toMatch(/account has been disabled/);
  });

  it('returns to login with a notice when a request finds the account disabled', async () => {
    start('/profile', { ...signedIn, 'PATCH /api/me': () => problem(403, 'account_disabled') });
    await screen.findByText('ada@example.com');
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Ada L' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeTruthy();
    expect(window.location.pathname).toBe('/login');
    expect(screen.getByText(/account has been disabled/)).toBeTruthy();
  });
});

describe('sign up', () => {
  function fill(password = 'correct horse battery') {
    type('Name', 'Ada');
    type('E-mail', 'ada@example.com');
    type('Password', password);
    type('Confirm password', password);
  }

  it('shows a weak_password answer at the password field', async () => {
    const calls = start('/signup', {
      ...signedOut,
      'POST /api/auth/signup': () =>
        problem(422, 'weak_password', { field: 'password', detail: 'This password appears in breach lists.' }),
    });
    await screen.findByRole('heading', { level: 1, name: 'Create your account' });
    fill();
    fireEvent.click(screen.getByRole('button', { name: 'Create account' }));

    const message = await screen.findByText(/too weak or too common/);
    expect(message.getAttribute('role')).toBe('alert');
    const input = screen.getByLabelText('Password');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toContain(message.id);
    expect(screen.getByText('This password appears in breach lists.')).toBeTruthy();
    expect(calls.find((c) => c.path === '/api/auth/signup')?.body).toEqual({
      email: 'ada@example.com', password: 'correct horse battery', name: 'Ada',
    });
  });

  it('checks the confirmation before calling the server', async () => {
    const calls = start('/signup', signedOut);
    await screen.findByRole('heading', { level: 1, name: 'Create your account' });
    fill();
    type('Confirm password', 'something else');
    fireEvent.click(screen.getByRole('button', { name: 'Create account' }));

    expect(await screen.findByText('The passwords do not match.')).toBeTruthy();
    expect(calls.some((c) => c.path === '/api/auth/signup')).toBe(false);
  });

  it('goes to "check your e-mail" after a successful sign-up', async () => {
    start('/signup', {
      ...signedOut,
      'POST /api/auth/signup': () => json(201, { status: 'ok', message: 'check your e-mail' }),
    });
    await screen.findByRole('heading', { level: 1, name: 'Create your account' });
    fill();
    fireEvent.click(screen.getByRole('button', { name: 'Create account' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Check your e-mail' })).toBeTruthy();
    expect(screen.getByText(/ada@example\.com/)).toBeTruthy();
    expect(window.location.pathname).toBe('/check-email');
  });
});

describe('login', () => {
  it('announces a wrong password in Korean', async () => {
    start(
      '/login',
      { ...signedOut, 'POST /api/auth/login': () => problem(401, 'invalid_credentials') },
      'ko',
    );
    await screen.findByRole('heading', { level: 1, name: '로그인' });
    type('이메일', 'ada@example.com');
    type('비밀번호', 'wrong');
    fireEvent.click(screen.getByRole('button', { name: '로그인' }));

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('이메일 주소 또는 비밀번호가 올바르지 않습니다.');
    expect(client?.state).toBe('signed-out');
  });

  it('signs in, returns to the page asked for, and signs out again', async () => {
    const calls = start('/profile', {
      ...signedOut,
      'POST /api/auth/login': () => json(200, tokenBody('A1')),
      'GET /api/me': () => json(200, USER),
      'GET /api/me/sessions': () => json(200, SESSIONS),
      'POST /api/auth/logout': () => noContent(),
    });
    await screen.findByRole('heading', { level: 1, name: 'Sign in' });
    type('E-mail', 'ada@example.com');
    type('Password', 'correct horse battery');
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
    expect(window.location.pathname).toBe('/profile');
    const section = screen.getByRole('region', { name: 'Sign out' });
    fireEvent.click(within(section).getByRole('button', { name: 'Sign out' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeTruthy();
    expect(screen.getByRole('status').textContent).toBe('You have signed out.');
    const logout = calls.find((c) => c.path === '/api/auth/logout');
    expect(logout?.headers['x-csrf-token']).toBe('csrf-1');
    await waitFor(() => expect(client?.accessToken).toBeNull());
  });
});

describe('profile', () => {
  it('revokes another session', async () => {
    const calls = start('/profile', {
      ...signedIn,
      'DELETE /api/me/sessions/s2': () => noContent(),
    });
    const button = await screen.findByRole('button', { name: 'Sign out the session on Safari · iOS' });
    fireEvent.click(button);

    expect(await screen.findByText('The session was signed out.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Sign out the session on Safari · iOS' })).toBeNull();
    const call = calls.find((c) => c.method === 'DELETE');
    expect(call?.headers.authorization).toBe('Bearer A1');
    expect(call?.headers['x-csrf-token']).toBe('csrf-1');
  });

  it('signs out every other session, keeping this one', async () => {
    const third = { ...SESSIONS.sessions[1], id: 's3', user_agent: 'curl/8.5.0' };
    const calls = start('/profile', {
      ...signedIn,
      'GET /api/me/sessions': () => json(200, { sessions: [...SESSIONS.sessions, third] }),
      'DELETE /api/me/sessions/s2': () => noContent(),
      'DELETE /api/me/sessions/s3': () => noContent(),
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Sign out all other sessions' }));
    expect(await screen.findByText('Every other session was signed out.')).toBeTruthy();
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/me/sessions/s2', '/api/me/sessions/s3']);
    expect(screen.getByText('This device')).toBeTruthy();
    expect(screen.getByText('There are no other active sessions.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Sign out all other sessions' })).toBeNull();
  });

  it('reports a wrong current password at that field', async () => {
    start('/profile', {
      ...signedIn,
      'POST /api/me/password': () => problem(401, 'invalid_credentials'),
    });
    await screen.findByText('ada@example.com');
    const region = screen.getByRole('region', { name: 'Change password' });
    fireEvent.change(within(region).getByLabelText('Current password'), { target: { value: 'wrong' } });
    type('New password', 'a much better passphrase');
    type('Confirm new password', 'a much better passphrase');
    fireEvent.click(within(region).getByRole('button', { name: 'Change password' }));

    await screen.findByText('The e-mail address or password is not correct.');
    expect(within(region).getByLabelText('Current password').getAttribute('aria-invalid')).toBe('true');
    expect(client?.state).toBe('signed-in');
  });

  it('deletes the account after the password is confirmed', async () => {
    const calls = start('/profile', {
      ...signedIn,
      'DELETE /api/me': () => noContent(),
    });
    const region = await screen.findByRole('region', { name: 'Delete account' });
    const button = within(region).getByRole('button', { name: 'Delete my account' }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    fireEvent.change(within(region).getByLabelText('Your password'), { target: { value: 'pw' } });
    fireEvent.click(within(region).getByLabelText(/I understand/));
    fireEvent.click(button);

    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeTruthy();
    expect(screen.getByRole('status').textContent).toBe('Your account has been deleted.');
    expect(calls.find((c) => c.method === 'DELETE')?.body).toEqual({ password: 'pw' });
  });

  it('offers to try again when the profile cannot be loaded', async () => {
    start('/profile', { ...signedIn, 'GET /api/me': () => problem(503, 'unavailable') });
    expect(await screen.findByText('The service is temporarily unavailable. Please try again later.')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Try again' })).toBeTruthy();
  });
});

describe('after sign-up without e-mail verification', () => {
  it('says the account is ready instead of "check your e-mail"', async () => {
    start('/signup', {
      ...signedOut,
      'POST /api/auth/signup': () =>
        json(201, { status: 'ok', verification_required: false, message: 'Account created.' }),
    });
    await screen.findByRole('heading', { level: 1, name: 'Create your account' });
    type('Name', 'Ada');
    type('E-mail', 'ada@example.com');
    type('Password', 'correct horse battery');
    type('Confirm password', 'correct horse battery');
    fireEvent.click(screen.getByRole('button', { name: 'Create account' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Account created' })).toBeTruthy();
  });
});

describe('start-up', () => {
  it('loads the user once after the silent refresh', async () => {
    const calls = start('/profile', signedIn);
    await screen.findByText('ada@example.com');
    await screen.findByText('This device');
    expect(calls.filter((c) => c.method === 'GET' && c.path === '/api/me')).toHaveLength(1);
    expect(calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
  });
});
