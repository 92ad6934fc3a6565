// Pages of the e-mail flows: verification by link and by code, "send again", password reset,
// change of address, and the account_pending way out of the login page.
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { StrictMode } from 'react';
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

interface StartOptions {
  lang?: Lang;
  strict?: boolean;
  /** location.state as react-router keeps it in history.state.usr */
  state?: unknown;
}

function start(path: string, table: Record<string, Handler>, options: StartOptions = {}): RecordedCall[] {
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
  window.history.pushState(options.state === undefined ? {} : { usr: options.state, key: 'k', idx: 0 }, '', path);
  const app = <App client={client} lang={options.lang ?? 'en'} />;
  render(options.strict ? <StrictMode>{app}</StrictMode> : app);
  return server.calls;
}

const signedOut: Record<string, Handler> = {
  'POST /api/auth/refresh': () => problem(401, 'unauthenticated'),
};

const signedIn: Record<string, Handler> = {
  'POST /api/auth/refresh': () => json(200, tokenBody('A1')),
  'GET /api/me': () => json(200, USER),
  'GET /api/me/sessions': () => json(200, { sessions: [] }),
};

afterEach(() => {
  cleanup();
  client?.dispose();
  client = null;
});

function type(label: RegExp | string, value: string, scope: HTMLElement = document.body) {
  fireEvent.change(within(scope).getByLabelText(label), { target: { value } });
}

/** The form that holds the code field (the page has a second e-mail field, for "send again"). */
const codeForm = () => screen.getByLabelText('Code from the e-mail').closest('form') as HTMLElement;

const posts = (calls: RecordedCall[], path: string) => calls.filter((c) => c.method === 'POST' && c.path === path);

const verified = (email = 'ada@example.com', purpose = 'verify_email') => () =>
  json(200, { status: 'verified', email, purpose });

describe('/verify-email with a token', () => {
  it('posts the token once under StrictMode, shows "E-mail verified" and drops the token from the address', async () => {
    const calls = start(
      '/verify-email?token=sel.verifier',
      { ...signedOut, 'POST /api/auth/verify-email': verified() },
      { strict: true },
    );

    expect(await screen.findByRole('heading', { level: 1, name: 'E-mail verified' })).toBeTruthy();
    expect(screen.getByRole('status').textContent).toBe('ada@example.com is confirmed. You can sign in now.');
    expect(within(screen.getByRole('main')).getByRole('link', { name: 'Sign in' }).getAttribute('href')).toBe('/login');
    const sent = posts(calls, '/api/auth/verify-email');
    expect(sent).toHaveLength(1);
    expect(sent[0].body).toEqual({ token: 'sel.verifier', mode: 'cookie' });
    expect(window.location.search).toBe('');
    expect(window.location.pathname).toBe('/verify-email');
  });

  it('goes to the profile when the server signed the user in', async () => {
    const calls = start(
      '/verify-email?token=sel.verifier',
      {
        ...signedOut,
        'GET /api/me': () => json(200, USER),
        'GET /api/me/sessions': () => json(200, { sessions: [] }),
        'POST /api/auth/verify-email': () =>
          json(200, { ...tokenBody('V1'), status: 'verified', email: 'ada@example.com', purpose: 'verify_email' }),
      },
      { strict: true },
    );

    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
    expect(window.location.pathname).toBe('/profile');
    expect(await screen.findByText('Your e-mail address ada@example.com is confirmed.')).toBeTruthy();
    expect(posts(calls, '/api/auth/verify-email')).toHaveLength(1);
    expect(client?.accessToken).toBe('V1');
    expect(localStorage.getItem('V1')).toBeNull();
  });

  it('says the address changed for a change-of-address link', async () => {
    start('/verify-email?token=t', { ...signedOut, 'POST /api/auth/verify-email': verified('new@example.com', 'change_email') });
    expect(await screen.findByRole('heading', { level: 1, name: 'E-mail address changed' })).toBeTruthy();
    expect(screen.getByText(/now uses new@example\.com/)).toBeTruthy();
  });

  it('offers a new e-mail for an expired link, and then rests the button for the cooldown', async () => {
    const calls = start('/verify-email?token=t', {
      ...signedOut,
      'POST /api/auth/verify-email': () => problem(410, 'verification_token_expired'),
      'POST /api/auth/verify-email/resend': () => json(202, { status: 'accepted' }),
    });

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('This link has expired. Please ask for a new e-mail.');
    const region = screen.getByRole('region', { name: 'Ask for a new e-mail' });
    type('E-mail', 'ada@example.com', region);
    fireEvent.click(within(region).getByRole('button', { name: 'Send the e-mail again' }));

    expect(await within(region).findByText(/we have sent a new message/)).toBeTruthy();
    expect(posts(calls, '/api/auth/verify-email/resend')[0].body).toEqual({ email: 'ada@example.com' });
    const button = within(region).getByRole('button', { name: 'Send the e-mail again' }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    expect(within(region).getByText('You can ask for another e-mail in 60 seconds.')).toBeTruthy();
    expect(posts(calls, '/api/auth/verify-email')).toHaveLength(1);
  });

  it('validates the address before asking for a new e-mail', async () => {
    const calls = start('/verify-email?token=t', {
      ...signedOut,
      'POST /api/auth/verify-email': () => problem(410, 'verification_token_used'),
    });
    const region = await screen.findByRole('region', { name: 'Ask for a new e-mail' });
    type('E-mail', 'not-an-address', region);
    fireEvent.click(within(region).getByRole('button', { name: 'Send the e-mail again' }));
    expect(await within(region).findByText('Enter an e-mail address such as name@example.com.')).toBeTruthy();
    expect(posts(calls, '/api/auth/verify-email/resend')).toHaveLength(0);
  });

  it('for a used link, also offers to sign in', async () => {
    start('/verify-email?token=t', { ...signedOut, 'POST /api/auth/verify-email': () => problem(410, 'verification_token_used') });
    expect((await screen.findByRole('alert')).textContent).toBe('This link was already used, or a newer e-mail replaced it.');
    expect(screen.getByText('Already confirmed your address?')).toBeTruthy();
    expect(within(screen.getByRole('main')).getByRole('link', { name: 'Sign in' })).toBeTruthy();
  });

  it.each([
    ['verification_token_invalid', 400, {}, 'This link is not valid. Make sure you opened the whole link from the e-mail.'],
    ['invalid_field', 400, { field: 'token' }, 'This link is not valid. Make sure you opened the whole link from the e-mail.'],
    ['verification_token_unknown', 400, {}, 'We do not recognise this link. Use the link in the newest e-mail we sent you.'],
    ['conflict', 409, {}, 'This address now belongs to another account, so your address was not changed.'],
  ])('maps %s to its message', async (code, status, extra, text) => {
    start('/verify-email?token=t', { ...signedOut, 'POST /api/auth/verify-email': () => problem(status, code, extra) });
    expect((await screen.findByRole('alert')).textContent).toBe(text);
  });

  it('says it in Korean too', async () => {
    start(
      '/verify-email?token=t',
      { ...signedOut, 'POST /api/auth/verify-email': () => problem(410, 'verification_token_expired') },
      { lang: 'ko' },
    );
    expect((await screen.findByRole('alert')).textContent).toBe('링크의 유효 기간이 지났습니다. 새 메일을 요청해 주세요.');
    expect(screen.getByRole('region', { name: '새 메일 요청' })).toBeTruthy();
  });

  it('tries the same token again after a rate limit, once per click', async () => {
    let n = 0;
    const calls = start('/verify-email?token=t', {
      ...signedOut,
      'POST /api/auth/verify-email': () =>
        ++n === 1 ? problem(429, 'rate_limited', {}, { 'Retry-After': '5' }) : verified()(),
    });
    expect((await screen.findByRole('alert')).textContent).toBe('Too many attempts. Please try again in 5 seconds.');
    expect(screen.queryByRole('region', { name: 'Ask for a new e-mail' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'E-mail verified' })).toBeTruthy();
    expect(posts(calls, '/api/auth/verify-email').map((c) => c.body)).toEqual([
      { token: 't', mode: 'cookie' },
      { token: 't', mode: 'cookie' },
    ]);
  });

  it('switches to the code form after a failed link', async () => {
    start('/verify-email?token=t', { ...signedOut, 'POST /api/auth/verify-email': () => problem(400, 'verification_token_unknown') });
    fireEvent.click(await screen.findByRole('button', { name: 'Enter the code from the e-mail instead' }));
    expect(screen.getByRole('heading', { level: 1, name: 'Confirm your e-mail address' })).toBeTruthy();
    expect(screen.getByLabelText('Code from the e-mail')).toBeTruthy();
  });
});

describe('/verify-email with a code', () => {
  it('asks for the address and six digits before calling the server', async () => {
    const calls = start('/verify-email', signedOut);
    await screen.findByRole('heading', { level: 1, name: 'Confirm your e-mail address' });
    const code = screen.getByLabelText('Code from the e-mail');
    expect(code.getAttribute('inputmode')).toBe('numeric');
    expect(code.getAttribute('autocomplete')).toBe('one-time-code');

    fireEvent.click(screen.getByRole('button', { name: 'Confirm my address' }));
    expect(await screen.findAllByText('Please fill in this field.')).toHaveLength(2);

    type('E-mail', 'ada@example.com', codeForm());
    type('Code from the e-mail', '12345');
    fireEvent.click(screen.getByRole('button', { name: 'Confirm my address' }));
    const error = await screen.findByText('Enter the 6 digits of the code from the e-mail.');
    expect(error.getAttribute('role')).toBe('alert');
    expect(code.getAttribute('aria-invalid')).toBe('true');

    type('Code from the e-mail', '12a456');
    fireEvent.click(screen.getByRole('button', { name: 'Confirm my address' }));
    await screen.findByText('Enter the 6 digits of the code from the e-mail.');
    expect(posts(calls, '/api/auth/verify-email')).toHaveLength(0);
  });

  it('accepts a pasted code with spaces or full-width digits', async () => {
    const calls = start('/verify-email', { ...signedOut, 'POST /api/auth/verify-email': verified() });
    await screen.findByRole('heading', { level: 1, name: 'Confirm your e-mail address' });
    type('E-mail', ' ada@example.com ', codeForm());
    type('Code from the e-mail', '０１２ ３４５');
    fireEvent.click(screen.getByRole('button', { name: 'Confirm my address' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'E-mail verified' })).toBeTruthy();
    expect(posts(calls, '/api/auth/verify-email')[0].body).toEqual({
      email: 'ada@example.com',
      code: '012345',
      mode: 'cookie',
    });
  });

  it('shows a wrong code at the code field, and a dead code there too', async () => {
    let n = 0;
    start('/verify-email', {
      ...signedOut,
      'POST /api/auth/verify-email': () =>
        ++n === 1
          ? problem(400, 'invalid_code', { field: 'code' })
          : problem(410, 'code_attempts_exceeded', { field: 'code' }),
    });
    await screen.findByRole('heading', { level: 1, name: 'Confirm your e-mail address' });
    type('E-mail', 'ada@example.com', codeForm());
    type('Code from the e-mail', '000000');
    fireEvent.click(screen.getByRole('button', { name: 'Confirm my address' }));
    const message = await screen.findByText('This code is not correct. Check the code in the newest e-mail and try again.');
    const input = screen.getByLabelText('Code from the e-mail');
    expect(input.getAttribute('aria-describedby')).toContain(message.id);

    type('Code from the e-mail', '111111');
    fireEvent.click(screen.getByRole('button', { name: 'Confirm my address' }));
    expect(await screen.findByText(/Too many wrong codes/)).toBeTruthy();
    expect(screen.getByRole('region', { name: 'No e-mail?' })).toBeTruthy();
  });
});

describe('check your e-mail', () => {
  it('after sign-up, has the code form and rests "send again" for the first minute', async () => {
    start('/signup', {
      ...signedOut,
      'POST /api/auth/signup': () => json(201, { status: 'ok', verification_required: true }),
    });
    await screen.findByRole('heading', { level: 1, name: 'Create your account' });
    type('Name', 'Ada');
    type('E-mail', 'ada@example.com');
    type('Password', 'correct horse battery');
    type('Confirm password', 'correct horse battery');
    fireEvent.click(screen.getByRole('button', { name: 'Create account' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Check your e-mail' })).toBeTruthy();
    const codeRegion = screen.getByRole('region', { name: 'Enter the code' });
    expect((within(codeRegion).getByLabelText('E-mail') as HTMLInputElement).value).toBe('ada@example.com');
    const resend = screen.getByRole('region', { name: 'No e-mail?' });
    expect((within(resend).getByRole('button', { name: 'Send the e-mail again' }) as HTMLButtonElement).disabled).toBe(true);
    expect(within(resend).getByText(/You can ask for another e-mail in (59|60) seconds\./)).toBeTruthy();
  });

  it('sends again for the known address, and honours Retry-After', async () => {
    let n = 0;
    const calls = start(
      '/check-email',
      {
        ...signedOut,
        'POST /api/auth/verify-email/resend': () =>
          ++n === 1 ? json(202, { status: 'accepted' }) : problem(429, 'rate_limited', {}, { 'Retry-After': '120' }),
      },
      { state: { email: 'ada@example.com' } },
    );
    const region = await screen.findByRole('region', { name: 'No e-mail?' });
    expect(within(region).queryByLabelText('E-mail')).toBeNull();
    const button = within(region).getByRole('button', { name: 'Send the e-mail again' }) as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    fireEvent.click(button);

    expect(await within(region).findByText(/Only the newest link and code work\./)).toBeTruthy();
    expect(posts(calls, '/api/auth/verify-email/resend')[0].body).toEqual({ email: 'ada@example.com' });
    expect(button.disabled).toBe(true);
    expect(within(region).getByText('You can ask for another e-mail in 60 seconds.')).toBeTruthy();
  });

  it('shows a rate limit with its wait', async () => {
    start(
      '/check-email',
      {
        ...signedOut,
        'POST /api/auth/verify-email/resend': () => problem(429, 'rate_limited', {}, { 'Retry-After': '120' }),
      },
      { state: { email: 'ada@example.com' } },
    );
    const region = await screen.findByRole('region', { name: 'No e-mail?' });
    fireEvent.click(within(region).getByRole('button', { name: 'Send the e-mail again' }));
    expect((await within(region).findByRole('alert')).textContent).toBe('Too many attempts. Please try again in 120 seconds.');
    expect(within(region).getByText('You can ask for another e-mail in 120 seconds.')).toBeTruthy();
  });

  it('confirms with the code from the page', async () => {
    const calls = start(
      '/check-email',
      { ...signedOut, 'POST /api/auth/verify-email': verified() },
      { state: { email: 'ada@example.com' } },
    );
    const region = await screen.findByRole('region', { name: 'Enter the code' });
    type('Code from the e-mail', '123456', region);
    fireEvent.click(within(region).getByRole('button', { name: 'Confirm my address' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'E-mail verified' })).toBeTruthy();
    expect(posts(calls, '/api/auth/verify-email')[0].body).toEqual({ email: 'ada@example.com', code: '123456', mode: 'cookie' });
  });
});

describe('login of an account that waits for confirmation', () => {
  it('offers to send the confirmation e-mail again, then shows "check your e-mail"', async () => {
    const calls = start('/login', {
      ...signedOut,
      'POST /api/auth/login': () => problem(403, 'account_pending'),
      'POST /api/auth/verify-email/resend': () => json(202, { status: 'accepted' }),
    });
    await screen.findByRole('heading', { level: 1, name: 'Sign in' });
    expect(screen.queryByRole('button', { name: 'Send the confirmation e-mail again' })).toBeNull();
    type('E-mail', 'ada@example.com');
    type('Password', 'correct horse battery');
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    expect((await screen.findByRole('alert')).textContent).toBe(
      'Please confirm your e-mail address first: follow the link we sent you.',
    );
    fireEvent.click(screen.getByRole('button', { name: 'Send the confirmation e-mail again' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Check your e-mail' })).toBeTruthy();
    expect(screen.getByText(/If ada@example\.com belongs to an account that waits for confirmation/)).toBeTruthy();
    expect(posts(calls, '/api/auth/verify-email/resend')[0].body).toEqual({ email: 'ada@example.com' });
  });
});

describe('forgotten password', () => {
  it('is linked from the login page and asks for a link', async () => {
    const calls = start('/login', {
      ...signedOut,
      'POST /api/auth/password/forgot': () => json(202, { status: 'accepted' }),
    });
    fireEvent.click(await screen.findByRole('link', { name: 'Forgot your password?' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Reset your password' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Send the link' }));
    expect(await screen.findByText('Please fill in this field.')).toBeTruthy();
    type('E-mail', 'ada@example.com');
    fireEvent.click(screen.getByRole('button', { name: 'Send the link' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Check your e-mail' })).toBeTruthy();
    expect(screen.getByRole('status').textContent).toBe(
      'If ada@example.com belongs to an account, we have sent a link to it. The link works for one hour.',
    );
    expect(posts(calls, '/api/auth/password/forgot')[0].body).toEqual({ email: 'ada@example.com' });
  });
});

describe('/reset-password', () => {
  const fill = (password: string, confirm = password) => {
    type('New password', password);
    type('Confirm new password', confirm);
  };

  it('checks the confirmation before calling the server', async () => {
    const calls = start('/reset-password?token=sel.ver', signedOut);
    await screen.findByRole('heading', { level: 1, name: 'Choose a new password' });
    expect(window.location.search).toBe('');
    fill('violet tractor umbrella', 'violet tractor umbrela');
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }));

    expect(await screen.findByText('The passwords do not match.')).toBeTruthy();
    expect(screen.getByLabelText('Confirm new password').getAttribute('aria-invalid')).toBe('true');
    expect(posts(calls, '/api/auth/password/reset')).toHaveLength(0);
  });

  it('shows the strength meter, the policy detail of a weak password, then "password changed"', async () => {
    let n = 0;
    const calls = start('/reset-password?token=sel.ver', {
      ...signedOut,
      'POST /api/auth/password/reset': () =>
        ++n === 1
          ? problem(400, 'weak_password', { field: 'password', detail: 'This password is on a list of common passwords.' })
          : json(200, { status: 'password_reset' }),
    });
    await screen.findByRole('heading', { level: 1, name: 'Choose a new password' });
    fill('password1');
    expect(screen.getByText(/Password strength:/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }));

    expect(await screen.findByText('This password is on a list of common passwords.')).toBeTruthy();
    expect(screen.getByLabelText('New password').getAttribute('aria-invalid')).toBe('true');
    fill('violet tractor umbrella');
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Password changed' })).toBeTruthy();
    expect(within(screen.getByRole('main')).getByRole('link', { name: 'Sign in' }).getAttribute('href')).toBe('/login');
    expect(posts(calls, '/api/auth/password/reset').map((c) => c.body)).toEqual([
      { token: 'sel.ver', password: 'password1' },
      { token: 'sel.ver', password: 'violet tractor umbrella' },
    ]);
  });

  it.each([
    ['verification_token_expired', 410, 'This link has expired. Please ask for a new e-mail.'],
    ['verification_token_used', 410, 'This link was already used, or a newer e-mail replaced it.'],
    ['verification_token_unknown', 400, 'We do not recognise this link. Use the link in the newest e-mail we sent you.'],
  ])('turns %s into its message and a link to ask again', async (code, status, text) => {
    start('/reset-password?token=sel.ver', { ...signedOut, 'POST /api/auth/password/reset': () => problem(status, code) });
    await screen.findByRole('heading', { level: 1, name: 'Choose a new password' });
    fill('violet tractor umbrella');
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect((await screen.findByRole('alert')).textContent).toBe(text);
    expect(screen.getByRole('link', { name: 'Ask for a new link' }).getAttribute('href')).toBe('/forgot-password');
    expect(screen.queryByLabelText('New password')).toBeNull();
  });

  it('without a token explains where the link comes from', async () => {
    start('/reset-password', signedOut);
    expect(await screen.findByText(/needs the link from the password reset e-mail/)).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Ask for a new link' })).toBeTruthy();
  });
});

describe('profile: change of address', () => {
  it('sends the link and says the change happens when it is followed', async () => {
    const calls = start('/profile', {
      ...signedIn,
      'POST /api/me/email': () => json(202, { status: 'verification_sent', pending_email: 'new@example.com' }),
    });
    await screen.findByText('ada@example.com');
    const region = screen.getByRole('region', { name: 'Change e-mail address' });
    type('New e-mail address', 'New@Example.com', region);
    type('Current password', 'correct horse battery', region);
    fireEvent.click(within(region).getByRole('button', { name: 'Send the confirmation link' }));

    expect(await within(region).findByText(/We sent a link to new@example\.com\. The change happens when you follow it/)).toBeTruthy();
    const call = posts(calls, '/api/me/email')[0];
    expect(call.body).toEqual({ new_email: 'New@Example.com', password: 'correct horse battery' });
    expect(call.headers.authorization).toBe('Bearer A1');
    expect((within(region).getByLabelText('Current password') as HTMLInputElement).value).toBe('');
  });

  it('reports a wrong password at the password field', async () => {
    start('/profile', {
      ...signedIn,
      'POST /api/me/email': () => problem(401, 'invalid_credentials', { field: 'password' }),
    });
    await screen.findByText('ada@example.com');
    const region = screen.getByRole('region', { name: 'Change e-mail address' });
    type('New e-mail address', 'new@example.com', region);
    type('Current password', 'wrong', region);
    fireEvent.click(within(region).getByRole('button', { name: 'Send the confirmation link' }));

    await within(region).findByText('The e-mail address or password is not correct.');
    expect(within(region).getByLabelText('Current password').getAttribute('aria-invalid')).toBe('true');
    expect(client?.state).toBe('signed-in');
  });

  it('refuses the current address without asking the server', async () => {
    const calls = start('/profile', signedIn);
    await screen.findByText('ada@example.com');
    const region = screen.getByRole('region', { name: 'Change e-mail address' });
    type('New e-mail address', 'ADA@example.com', region);
    type('Current password', 'pw', region);
    fireEvent.click(within(region).getByRole('button', { name: 'Send the confirmation link' }));
    expect(await within(region).findByText('This is already your e-mail address.')).toBeTruthy();
    expect(posts(calls, '/api/me/email')).toHaveLength(0);
  });

  it('shows a rate limit for the whole form', async () => {
    start('/profile', {
      ...signedIn,
      'POST /api/me/email': () => problem(429, 'rate_limited', {}, { 'Retry-After': '60' }),
    });
    await screen.findByText('ada@example.com');
    const region = screen.getByRole('region', { name: 'Change e-mail address' });
    type('New e-mail address', 'new@example.com', region);
    type('Current password', 'pw', region);
    fireEvent.click(within(region).getByRole('button', { name: 'Send the confirmation link' }));
    await waitFor(() =>
      expect(within(region).getByRole('alert').textContent).toBe('Too many attempts. Please try again in 60 seconds.'),
    );
  });
});
