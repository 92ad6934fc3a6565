// Sign-in with a texted code: the client calls and the page.
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import { createApiClient, type ApiClient } from '../api/client';
import type { Lang } from '../i18n/i18n';
import { json, problem, scriptedFetch, tokenBody, type Handler, type RecordedCall } from '../test/fakes';

const USER = {
  id: 'u1',
  email: 'ada@example.com',
  name: 'Ada',
  state: 'active',
  email_verified: true,
  roles: ['user'],
  created_at: '2026-11-24T10:00:00Z',
};

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
});

const base: Record<string, Handler> = {
  'POST /api/auth/refresh': () => problem(401, 'unauthenticated'),
  'POST /api/auth/sms/start': () => json(202, { status: 'code_sent' }),
  'GET /api/me': () => json(200, USER),
  'GET /api/me/sessions': () => json(200, { sessions: [] }),
  'GET /api/me/mfa': () => json(200, { totp: false, sms: false, recovery_codes_left: 0 }),
};

async function sendCode(phone = '+821012345678') {
  await screen.findByRole('heading', { level: 1, name: 'Sign in with a text message' });
  fireEvent.change(screen.getByLabelText('Mobile phone number'), { target: { value: phone } });
  fireEvent.click(screen.getByRole('button', { name: 'Text me a code' }));
  await screen.findByLabelText('Code from the text message');
}

describe('sign-in with a texted code', () => {
  it('is linked from the login page', async () => {
    start('/login', base);
    fireEvent.click(await screen.findByRole('link', { name: 'Sign in with a code by text message' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in with a text message' })).toBeTruthy();
    expect(window.location.pathname).toBe('/login/sms');
  });

  it('texts a code, then signs in with it in cookie mode', async () => {
    const calls = start('/login/sms', {
      ...base,
      'POST /api/auth/sms/verify': () => json(200, tokenBody('S1')),
    });
    await sendCode(' +821012345678 ');
    expect(calls.find((c) => c.path === '/api/auth/sms/start')!.body).toEqual({ phone: '+821012345678' });
    expect(screen.getByText(/If \+821012345678 belongs to an account/)).toBeTruthy();

    fireEvent.change(screen.getByLabelText('Code from the text message'), { target: { value: '123 456' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
    const verify = calls.find((c) => c.path === '/api/auth/sms/verify')!;
    expect(verify.body).toEqual({ phone: '+821012345678', code: '123456', mode: 'cookie' });
    expect(verify.headers.authorization).toBeUndefined();
    expect(client!.accessToken).toBe('S1');
  });

  it('checks the code before calling the server, and shows a wrong code at the field', async () => {
    const calls = start('/login/sms', { ...base, 'POST /api/auth/sms/verify': () => problem(400, 'invalid_code') });
    await sendCode();
    fireEvent.change(screen.getByLabelText('Code from the text message'), { target: { value: '12' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Enter the 6 digits of the code.');
    expect(calls.some((c) => c.path === '/api/auth/sms/verify')).toBe(false);

    fireEvent.change(screen.getByLabelText('Code from the text message'), { target: { value: '654321' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toBe('This code is not correct. Check the newest text message and try again.'),
    );
    expect(screen.getByLabelText('Code from the text message').getAttribute('aria-invalid')).toBe('true');
  });

  it('goes on to the second step when the account has one', async () => {
    start('/login/sms', {
      ...base,
      'POST /api/auth/sms/verify': () =>
        json(200, { mfa_required: true, mfa_token: 'm1', methods: ['totp', 'recovery_code'], expires_in: 300 }),
    });
    await sendCode();
    fireEvent.change(screen.getByLabelText('Code from the text message'), { target: { value: '123456' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Two-step verification' })).toBeTruthy();
    expect(client!.accessToken).toBeNull();
  });

  it('shows a refused number at the phone field, in Korean too', async () => {
    start('/login/sms', { ...base, 'POST /api/auth/sms/start': () => problem(400, 'invalid_field', { field: 'phone' }) }, 'ko');
    await screen.findByRole('heading', { level: 1, name: '문자 메시지로 로그인' });
    fireEvent.change(screen.getByLabelText('휴대전화 번호'), { target: { value: '12' } });
    fireEvent.click(screen.getByRole('button', { name: '문자로 코드 받기' }));
    await waitFor(() => expect(screen.getByLabelText('휴대전화 번호').getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByRole('alert').textContent).toBe('올바른 값이 아닙니다.');
  });
});
