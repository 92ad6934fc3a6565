// The second step of a login, and the profile sections for two-step verification and the phone.
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../App';
import { createApiClient, type ApiClient } from '../api/client';
import type { Lang } from '../i18n/i18n';
import { json, noContent, problem, scriptedFetch, tokenBody, type Handler, type RecordedCall } from '../test/fakes';

const USER = {
  id: 'u1',
  email: 'ada@example.com',
  name: 'Ada',
  state: 'active',
  email_verified: true,
  roles: ['user'],
  created_at: '2026-11-24T10:00:00Z',
  phone: null,
  phone_verified: false,
};

const CHALLENGE = { mfa_required: true, mfa_token: 'mfa-secret-token', methods: ['totp', 'recovery_code', 'sms'], expires_in: 300 };

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
  localStorage.clear();
  sessionStorage.clear();
});

function type(label: RegExp | string, value: string, scope: HTMLElement = document.body) {
  fireEvent.change(within(scope).getByLabelText(label), { target: { value } });
}

const posts = (calls: RecordedCall[], path: string) => calls.filter((c) => c.method === 'POST' && c.path === path);

const signedOut: Record<string, Handler> = {
  'POST /api/auth/refresh': () => problem(401, 'unauthenticated'),
  'GET /api/me': () => json(200, USER),
  'GET /api/me/sessions': () => json(200, { sessions: [] }),
  'GET /api/me/mfa': () => json(200, { totp: true, sms: false, recovery_codes_left: 10 }),
  'POST /api/auth/login': () => json(200, CHALLENGE),
};

async function passwordStep(lang: Lang = 'en') {
  await screen.findByRole('heading', { level: 1, name: lang === 'en' ? 'Sign in' : '로그인' });
  type(lang === 'en' ? 'E-mail' : '이메일', 'ada@example.com');
  type(lang === 'en' ? 'Password' : '비밀번호', 'correct horse battery');
  fireEvent.click(within(screen.getByRole('main')).getByRole('button', { name: lang === 'en' ? 'Sign in' : '로그인' }));
  await screen.findByRole('heading', { level: 1, name: lang === 'en' ? 'Two-step verification' : '2단계 인증' });
}

describe('login with two-step verification', () => {
  it('asks for the app code, then signs in; the mfa_token stays out of storage and the address', async () => {
    const setItem = vi.spyOn(Storage.prototype, 'setItem');
    const calls = start('/login', { ...signedOut, 'POST /api/auth/mfa/verify': () => json(200, tokenBody('A9')) });
    await passwordStep();

    expect(screen.getByRole('radio', { name: 'Authenticator app' })).toHaveProperty('checked', true);
    expect(screen.getByRole('radio', { name: 'Recovery code' })).toBeTruthy();
    expect(screen.getByRole('radio', { name: 'Text message (SMS)' })).toBeTruthy();
    const input = screen.getByLabelText('Code from your authenticator app');
    expect(input.getAttribute('autocomplete')).toBe('one-time-code');
    expect(input.getAttribute('inputmode')).toBe('numeric');

    fireEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Please fill in this field.');
    type('Code from your authenticator app', '123 456');
    fireEvent.click(screen.getByRole('button', { name: 'Verify' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
    expect(posts(calls, '/api/auth/mfa/verify')[0].body).toEqual({
      mfa_token: 'mfa-secret-token',
      method: 'totp',
      code: '123456',
      mode: 'cookie',
    });
    expect(client?.accessToken).toBe('A9');
    expect(setItem).not.toHaveBeenCalled();
    expect(window.location.href).not.toContain('mfa-secret-token');
    expect(JSON.stringify(window.history.state)).not.toContain('mfa-secret-token');
    expect(document.cookie).not.toContain('mfa-secret-token');
  });

  it('shows a wrong code on the field and lets the visitor try again', async () => {
    let tries = 0;
    start('/login', {
      ...signedOut,
      'POST /api/auth/mfa/verify': () => (++tries === 1 ? problem(400, 'invalid_code') : json(200, tokenBody('A9'))),
    });
    await passwordStep();
    type('Code from your authenticator app', '000000');
    fireEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect((await screen.findByRole('alert')).textContent).toBe('This code is not correct. Check it and try again.');
    expect(screen.getByLabelText('Code from your authenticator app').getAttribute('aria-invalid')).toBe('true');
    type('Code from your authenticator app', '123456');
    fireEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
  });

  it('goes back to the password step with a message when the mfa_token is refused (Korean)', async () => {
    start('/login', { ...signedOut, 'POST /api/auth/mfa/verify': () => problem(401, 'invalid_mfa_token') }, 'ko');
    await passwordStep('ko');
    type('인증 앱의 코드', '123456');
    fireEvent.click(screen.getByRole('button', { name: '확인' }));
    expect(await screen.findByRole('heading', { level: 1, name: '로그인' })).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toBe('로그인 시간이 초과되었거나 이미 사용된 요청입니다. 다시 로그인해 주세요.');
    expect((screen.getByLabelText('비밀번호') as HTMLInputElement).value).toBe('');
  });

  it('starts over after too many wrong codes', async () => {
    start('/login', { ...signedOut, 'POST /api/auth/mfa/verify': () => problem(410, 'code_attempts_exceeded') });
    await passwordStep();
    type('Code from your authenticator app', '123456');
    fireEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toBe('Too many wrong codes. Please sign in again.');
  });

  it('texts a code on request and verifies it with the sms method', async () => {
    const calls = start('/login', {
      ...signedOut,
      'POST /api/auth/mfa/sms': () => new Response(null, { status: 202 }),
      'POST /api/auth/mfa/verify': () => json(200, tokenBody('A9')),
    });
    await passwordStep();
    fireEvent.click(screen.getByRole('radio', { name: 'Text message (SMS)' }));
    expect(screen.queryByLabelText('Code from the text message')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Text me a code' }));
    const input = await screen.findByLabelText('Code from the text message');
    expect(input.getAttribute('autocomplete')).toBe('one-time-code');
    expect(screen.getByText('We sent a code to your phone. It works for 5 minutes.')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Send a new code' }) as HTMLButtonElement).disabled).toBe(true);
    type('Code from the text message', '654321');
    fireEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
    expect(posts(calls, '/api/auth/mfa/sms')[0].body).toEqual({ mfa_token: 'mfa-secret-token' });
    expect(posts(calls, '/api/auth/mfa/verify')[0].body).toMatchObject({ method: 'sms', code: '654321' });
  });

  it('takes a recovery code as typed (trimmed)', async () => {
    const calls = start('/login', { ...signedOut, 'POST /api/auth/mfa/verify': () => json(200, tokenBody('A9')) });
    await passwordStep();
    fireEvent.click(screen.getByRole('radio', { name: 'Recovery code' }));
    type('One of your recovery codes', ' 7kq3m-xw2fa ');
    fireEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
    expect(posts(calls, '/api/auth/mfa/verify')[0].body).toMatchObject({ method: 'recovery_code', code: '7kq3m-xw2fa' });
  });

  it('offers only the methods of the challenge', async () => {
    start('/login', { ...signedOut, 'POST /api/auth/login': () => json(200, { ...CHALLENGE, methods: ['totp', 'recovery_code'] }) });
    await passwordStep();
    expect(screen.queryByRole('radio', { name: 'Text message (SMS)' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Back to sign in' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });
});

const signedIn = (mfa: { totp: boolean; sms: boolean; recovery_codes_left: number }, user = USER) => ({
  'POST /api/auth/refresh': () => json(200, tokenBody('A1')),
  'GET /api/me': () => json(200, user),
  'GET /api/me/sessions': () => json(200, { sessions: [] }),
  'GET /api/me/mfa': () => json(200, mfa),
});

const twoStep = () => screen.getByRole('heading', { name: 'Two-step verification' }).closest('section') as HTMLElement;
const phoneCard = () => screen.getByRole('heading', { name: 'Phone number' }).closest('section') as HTMLElement;

describe('profile: two-step verification', () => {
  it('sets up TOTP: QR as an image (never inline markup), the key, a code, then the recovery codes', async () => {
    const mfa = { totp: false, sms: false, recovery_codes_left: 0 };
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>';
    const codes = ['aaaaa-00001', 'aaaaa-00002', 'aaaaa-00003', 'aaaaa-00004', 'aaaaa-00005',
      'aaaaa-00006', 'aaaaa-00007', 'aaaaa-00008', 'aaaaa-00009', 'aaaaa-00010'];
    const calls = start('/profile', {
      ...signedIn(mfa),
      'GET /api/me/mfa': () => json(200, mfa),
      'POST /api/me/mfa/totp': () => json(200, { secret: 'JBSWY3DPEHPK3PXP', otpauth_uri: 'otpauth://totp/x', qr_svg: svg }),
      'POST /api/me/mfa/totp/confirm': (call) => {
        if ((call.body as { code: string }).code !== '123456') return problem(400, 'invalid_code');
        Object.assign(mfa, { totp: true, recovery_codes_left: 10 });
        return json(200, { status: 'enabled', recovery_codes: codes });
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Set up an authenticator app' }));

    const img = (await screen.findByRole('img', { name: 'QR code for your authenticator app' })) as HTMLImageElement;
    expect(img.getAttribute('src')).toBe(`data:image/svg+xml;base64,${btoa(svg)}`);
    expect(document.querySelector('svg')).toBeNull();
    expect(within(twoStep()).getByText('JBSWY3DPEHPK3PXP')).toBeTruthy();

    type('Code from the app', '000000', twoStep());
    fireEvent.click(within(twoStep()).getByRole('button', { name: 'Turn on' }));
    expect((await within(twoStep()).findByRole('alert')).textContent).toBe('This code is not correct. Check it and try again.');

    type('Code from the app', '123456', twoStep());
    fireEvent.click(within(twoStep()).getByRole('button', { name: 'Turn on' }));
    const list = await within(twoStep()).findByRole('list', { name: 'Your recovery codes' });
    expect(within(list).getAllByRole('listitem').map((li) => li.textContent)).toEqual(codes);
    expect(posts(calls, '/api/me/mfa/totp/confirm').map((c) => c.body)).toEqual([{ code: '000000' }, { code: '123456' }]);

    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    fireEvent.click(within(twoStep()).getByRole('button', { name: 'Copy the codes' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith(codes.join('\n')));
    expect(await within(twoStep()).findByText('The codes were copied.')).toBeTruthy();

    const blobs: Blob[] = [];
    const createObjectURL = vi.fn((blob: Blob) => (blobs.push(blob), 'blob:codes'));
    Object.defineProperty(URL, 'createObjectURL', { value: createObjectURL, configurable: true });
    Object.defineProperty(URL, 'revokeObjectURL', { value: vi.fn(), configurable: true });
    const clicked: HTMLAnchorElement[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this);
    });
    fireEvent.click(within(twoStep()).getByRole('button', { name: 'Download as a text file' }));
    expect(clicked[0].download).toBe('latchkey-recovery-codes.txt');
    const text = await blobs[0].text();
    expect(text).toContain('ada@example.com');
    for (const code of codes) expect(text).toContain(code);

    fireEvent.click(within(twoStep()).getByRole('button', { name: 'I have saved the codes' }));
    expect(within(twoStep()).queryByRole('list', { name: 'Your recovery codes' })).toBeNull();
    expect(await within(twoStep()).findByText('Unused recovery codes: 10')).toBeTruthy();
  });

  it('turns TOTP off with the password and a code, reporting a wrong password on its field', async () => {
    const mfa = { totp: true, sms: false, recovery_codes_left: 8 };
    const calls = start('/profile', {
      ...signedIn(mfa),
      'GET /api/me/mfa': () => json(200, mfa),
      'DELETE /api/me/mfa/totp': (call) => {
        if ((call.body as { password: string }).password !== 'right') return problem(401, 'invalid_credentials');
        mfa.totp = false;
        return noContent();
      },
    });
    await screen.findByText('Two-step verification is on.');
    const form = within(twoStep()).getByRole('heading', { name: 'Turn off two-step verification' }).closest('form') as HTMLElement;
    type('Current password', 'wrong', form);
    type('Code from the app, or a recovery code', '123 456', form);
    fireEvent.click(within(form).getByRole('button', { name: 'Turn off' }));
    expect((await within(form).findByRole('alert')).textContent).toBe('The e-mail address or password is not correct.');

    type('Current password', 'right', form);
    type('Code from the app, or a recovery code', '123456', form);
    fireEvent.click(within(form).getByRole('button', { name: 'Turn off' }));
    expect(await within(twoStep()).findByText('Two-step verification is off.')).toBeTruthy();
    expect(await within(twoStep()).findByRole('button', { name: 'Set up an authenticator app' })).toBeTruthy();
    const deletes = calls.filter((c) => c.method === 'DELETE' && c.path === '/api/me/mfa/totp').map((c) => c.body);
    expect(deletes).toEqual([{ password: 'wrong', code: '123456' }, { password: 'right', code: '123456' }]);
  });

  it('makes new recovery codes and shows them once', async () => {
    const mfa = { totp: true, sms: false, recovery_codes_left: 2 };
    const calls = start('/profile', {
      ...signedIn(mfa),
      'POST /api/me/mfa/recovery-codes': () => json(200, { recovery_codes: ['bbbbb-11111', 'bbbbb-22222'] }),
    });
    await screen.findByText('Unused recovery codes: 2');
    const form = within(twoStep()).getByRole('heading', { name: 'New recovery codes' }).closest('form') as HTMLElement;
    type('Current password', 'pw', form);
    type('Code from the app, or a recovery code', 'ccccc-33333', form);
    fireEvent.click(within(form).getByRole('button', { name: 'Make new codes' }));
    const list = await within(twoStep()).findByRole('list', { name: 'Your recovery codes' });
    expect(list.textContent).toContain('bbbbb-22222');
    expect(posts(calls, '/api/me/mfa/recovery-codes')[0].body).toEqual({ password: 'pw', code: 'ccccc-33333' });
  });
});

describe('profile: phone number', () => {
  it('adds a number, confirms it with the texted code, and removes it with the password', async () => {
    let user = { ...USER };
    const calls = start('/profile', {
      ...signedIn({ totp: false, sms: false, recovery_codes_left: 0 }),
      'GET /api/me': () => json(200, user),
      'POST /api/me/phone': (call) =>
        (call.body as { phone: string }).phone === '123'
          ? problem(400, 'invalid_field', { field: 'phone' })
          : json(202, { status: 'code_sent', phone: '+821012345678' }),
      'POST /api/me/phone/verify': (call) => {
        if ((call.body as { code: string }).code !== '246810') return problem(400, 'invalid_code');
        user = { ...user, phone: '+821012345678' as never, phone_verified: true };
        return json(200, { phone: '+821012345678', phone_verified: true });
      },
      'DELETE /api/me/phone': () => {
        user = { ...USER };
        return noContent();
      },
    });
    expect(await screen.findByText('No phone number is linked to your account.')).toBeTruthy();

    const input = within(phoneCard()).getByLabelText('Mobile phone number');
    expect(input.getAttribute('type')).toBe('tel');
    expect(input.getAttribute('autocomplete')).toBe('tel');
    type('Mobile phone number', '123', phoneCard());
    fireEvent.click(within(phoneCard()).getByRole('button', { name: 'Send the code' }));
    expect((await within(phoneCard()).findByRole('alert')).textContent).toBe('This value is not valid.');

    type('Mobile phone number', '010-1234-5678', phoneCard());
    fireEvent.click(within(phoneCard()).getByRole('button', { name: 'Send the code' }));
    expect(await within(phoneCard()).findByText('We sent a code to +821012345678. It works for 5 minutes.')).toBeTruthy();

    type('Code from the text message', '111111', phoneCard());
    fireEvent.click(within(phoneCard()).getByRole('button', { name: 'Confirm the number' }));
    expect((await within(phoneCard()).findByRole('alert')).textContent).toBe(
      'This code is not correct. Check the newest text message and try again.',
    );
    type('Code from the text message', '246810', phoneCard());
    fireEvent.click(within(phoneCard()).getByRole('button', { name: 'Confirm the number' }));
    expect(await within(phoneCard()).findByText('+821012345678 is confirmed.')).toBeTruthy();
    expect(within(phoneCard()).getByText('Phone number: +821012345678')).toBeTruthy();

    type('Current password', 'pw', phoneCard());
    fireEvent.click(within(phoneCard()).getByRole('button', { name: 'Remove the number' }));
    expect(await within(phoneCard()).findByText('The phone number was removed.')).toBeTruthy();
    expect(within(phoneCard()).getByText('No phone number is linked to your account.')).toBeTruthy();

    expect(posts(calls, '/api/me/phone').map((c) => c.body)).toEqual([{ phone: '123' }, { phone: '010-1234-5678' }]);
    expect(posts(calls, '/api/me/phone/verify').map((c) => c.body)).toEqual([{ code: '111111' }, { code: '246810' }]);
    expect(calls.find((c) => c.method === 'DELETE' && c.path === '/api/me/phone')?.body).toEqual({ password: 'pw' });
  });

  it('says when the number belongs to another account (Korean)', async () => {
    start('/profile', {
      ...signedIn({ totp: false, sms: false, recovery_codes_left: 0 }),
      'POST /api/me/phone': () => problem(409, 'conflict'),
    }, 'ko');
    const heading = await screen.findByRole('heading', { name: '휴대전화 번호', level: 2 });
    const card = heading.closest('section') as HTMLElement;
    fireEvent.change(within(card).getByLabelText('휴대전화 번호'), { target: { value: '01012345678' } });
    fireEvent.click(within(card).getByRole('button', { name: '코드 보내기' }));
    expect((await within(card).findByRole('alert')).textContent).toBe('이 번호는 다른 계정에서 사용 중입니다.');
  });
});
