// Social login buttons and returned errors on the login page; linked accounts on the profile.
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../App';
import { createApiClient, type ApiClient } from '../api/client';
import type { Lang } from '../i18n/i18n';
import { json, noContent, problem, scriptedFetch, tokenBody, type Handler, type RecordedCall } from '../test/fakes';
import { navigation } from './LinkedAccounts';

const USER = {
  id: 'u1',
  email: 'ada@example.com',
  name: 'Ada',
  state: 'active',
  email_verified: true,
  roles: ['user'],
  created_at: '2026-11-24T10:00:00Z',
};

const PROVIDERS = {
  providers: [
    { id: 'google', kind: 'oidc', name: 'Google' },
    { id: 'github', kind: 'github', name: 'GitHub' },
  ],
};

const GOOGLE = { id: 'i1', provider: 'google', provider_name: 'Google', email: 'ada@gmail.example', created_at: '2026-11-30T10:00:00Z' };

let client: ApiClient | null = null;

function start(path: string, table: Record<string, Handler>, lang: Lang = 'en'): RecordedCall[] {
  const server = scriptedFetch((call) => {
    const handler = table[`${call.method} ${call.path}`];
    return handler ? handler(call) : problem(404, 'not_found');
  });
  client = createApiClient({ fetch: server.fetch, channel: null, locks: null, jitterMs: () => 0, readCookie: () => 'csrf-1' });
  window.history.pushState({}, '', path);
  render(<App client={client} lang={lang} />);
  return server.calls;
}

afterEach(() => {
  cleanup();
  client?.dispose();
  client = null;
  vi.restoreAllMocks();
});

const signedOut: Record<string, Handler> = { 'POST /api/auth/refresh': () => problem(401, 'unauthenticated') };
const signedIn: Record<string, Handler> = {
  'POST /api/auth/refresh': () => json(200, tokenBody('A1')),
  'GET /api/me': () => json(200, USER),
  'GET /api/me/sessions': () => json(200, { sessions: [] }),
  'GET /api/me/mfa': () => json(200, { totp: false, sms: false, recovery_codes_left: 0 }),
};

describe('login page', () => {
  it('finishes a social login that needs a second factor from the one-time token in the fragment', async () => {
    const calls = start('/login#mfa_token=social-mfa-token&methods=totp%2Crecovery_code&expires_in=300', {
      ...signedOut,
      ...signedIn,
      'POST /api/auth/refresh': () => problem(401, 'unauthenticated'),
      'POST /api/auth/mfa/verify': () => json(200, tokenBody('A7')),
    });
    expect(await screen.findByRole('heading', { level: 1, name: 'Two-step verification' })).toBeTruthy();
    // The token leaves the address bar at once.
    expect(window.location.href).not.toContain('social-mfa-token');
    expect(screen.queryByRole('radio', { name: 'Text message (SMS)' })).toBeNull();
    fireEvent.change(screen.getByLabelText('Code from your authenticator app'), { target: { value: '654321' } });
    fireEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
    const verify = calls.filter((c) => c.method === 'POST' && c.path === '/api/auth/mfa/verify');
    expect(verify[0].body).toEqual({ mfa_token: 'social-mfa-token', method: 'totp', code: '654321', mode: 'cookie' });
  });

  it('offers one button per provider that starts the login with a return to the profile', async () => {
    start('/login', { ...signedOut, 'GET /api/auth/providers': () => json(200, PROVIDERS) });
    const google = await screen.findByRole('link', { name: 'Continue with Google' });
    const origin = window.location.origin;
    expect(google.getAttribute('href')).toBe(
      `/api/auth/social/google/start?return_to=${encodeURIComponent(`${origin}/profile`)}`,
    );
    expect(screen.getByRole('link', { name: 'Continue with GitHub' }).getAttribute('href')).toMatch(
      /^\/api\/auth\/social\/github\/start\?return_to=/,
    );
  });

  it('shows no provider section when the server has no social login (404)', async () => {
    const calls = start('/login', signedOut);
    await screen.findByRole('heading', { level: 1, name: 'Sign in' });
    await waitFor(() => expect(calls.some((c) => c.path === '/api/auth/providers')).toBe(true));
    expect(screen.queryByText('Or continue with')).toBeNull();
  });

  it('announces ?error=<code> in the page language and drops it from the address', async () => {
    start('/login?error=social_link_required', signedOut, 'ko');
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('이 이메일 주소로 된 계정이 이미 있습니다');
    await waitFor(() => expect(window.location.search).toBe(''));
    expect(screen.getByRole('alert')).toBe(alert);
  });

  it('reads an unknown ?error code as a generic failure', async () => {
    start('/login?error=%3Cscript%3E', signedOut);
    expect((await screen.findByRole('alert')).textContent).toBe('Something went wrong. Please try again.');
  });
});

describe('linked accounts on the profile', () => {
  it('is absent when the server has no social login', async () => {
    const calls = start('/profile', signedIn);
    await screen.findByRole('heading', { level: 2, name: 'Active sessions' });
    await waitFor(() => expect(calls.some((c) => c.path === '/api/me/identities')).toBe(true));
    expect(screen.queryByRole('heading', { name: 'Linked accounts' })).toBeNull();
  });

  it('lists linked accounts, links another provider by navigating to its URL, and unlinks', async () => {
    const assign = vi.spyOn(navigation, 'assign').mockImplementation(() => undefined);
    const calls = start('/profile', {
      ...signedIn,
      'GET /api/auth/providers': () => json(200, PROVIDERS),
      'GET /api/me/identities': () => json(200, { identities: [GOOGLE] }),
      'POST /api/me/identities/github/link': () => json(200, { redirect_url: 'https://github.example/login/oauth?s=1' }),
      'DELETE /api/me/identities/i1': () => noContent(),
    });
    const section = (await screen.findByRole('heading', { level: 2, name: 'Linked accounts' })).closest('section')!;
    await within(section).findByText('Google account ada@gmail.example');
    // Google is linked already: only GitHub is offered.
    expect(within(section).queryByRole('button', { name: 'Link Google' })).toBeNull();

    fireEvent.click(within(section).getByRole('button', { name: 'Unlink Google (ada@gmail.example)' }));
    await within(section).findByText('The account was unlinked.');
    expect(within(section).getByText('No other service is linked to your account.')).toBeTruthy();
    expect(within(section).getByRole('button', { name: 'Link Google' })).toBeTruthy();

    fireEvent.click(within(section).getByRole('button', { name: 'Link GitHub' }));
    await waitFor(() => expect(assign).toHaveBeenCalledWith('https://github.example/login/oauth?s=1'));
    const linkCall = calls.find((c) => c.path === '/api/me/identities/github/link')!;
    expect(linkCall.body).toEqual({ return_to: `${window.location.origin}/profile` });
    expect(linkCall.headers['x-csrf-token']).toBe('csrf-1');
  });

  it('explains why the last way to sign in cannot be unlinked, and keeps it listed', async () => {
    start('/profile', {
      ...signedIn,
      'GET /api/auth/providers': () => json(200, PROVIDERS),
      'GET /api/me/identities': () => json(200, { identities: [GOOGLE] }),
      'DELETE /api/me/identities/i1': () => problem(409, 'last_login_method'),
    });
    const section = (await screen.findByRole('heading', { level: 2, name: 'Linked accounts' })).closest('section')!;
    fireEvent.click(await within(section).findByRole('button', { name: 'Unlink Google (ada@gmail.example)' }));
    expect((await within(section).findByRole('alert')).textContent).toMatch(/only way left to sign in/);
    expect(within(section).getByText('Google account ada@gmail.example')).toBeTruthy();
  });

  it('shows a link failure that came back as /profile?error=<code>', async () => {
    start('/profile?error=identity_already_linked', {
      ...signedIn,
      'GET /api/auth/providers': () => json(200, PROVIDERS),
      'GET /api/me/identities': () => json(200, { identities: [] }),
    });
    const section = (await screen.findByRole('heading', { level: 2, name: 'Linked accounts' })).closest('section')!;
    expect((await within(section).findByRole('alert')).textContent).toBe(
      'That account is already linked to another Latchkey account.',
    );
    await waitFor(() => expect(window.location.search).toBe(''));
  });
});
