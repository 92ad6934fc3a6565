// Client functions of the second login step, two-step verification and the phone number.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, createApiClient, svgDataUrl, type ApiClient } from './client';
import { json, noContent, problem, scriptedFetch, tokenBody, type Handler } from '../test/fakes';

const clients: ApiClient[] = [];

function makeClient(table: Record<string, Handler>) {
  const server = scriptedFetch((call) => {
    const handler = table[`${call.method} ${call.path}`];
    return handler ? handler(call) : problem(404, 'not_found');
  });
  const client = createApiClient({
    fetch: server.fetch,
    channel: null,
    locks: null,
    jitterMs: () => 0,
    readCookie: (name) => (name === '__Host-latchkey_csrf' ? 'csrf-123' : undefined),
  });
  clients.push(client);
  return { client, calls: server.calls };
}

const CHALLENGE = { mfa_required: true, mfa_token: 'mfa-secret-1', methods: ['totp', 'recovery_code', 'sms'], expires_in: 300 };

afterEach(() => {
  while (clients.length) clients.pop()!.dispose();
  localStorage.clear();
  sessionStorage.clear();
});

describe('login with a second factor', () => {
  it('returns the challenge without signing in or storing the mfa_token', async () => {
    const setItem = vi.spyOn(Storage.prototype, 'setItem');
    const listener = vi.fn();
    const { client } = makeClient({ 'POST /api/auth/login': () => json(200, CHALLENGE) });
    client.subscribe(listener);

    const result = await client.login('ada@example.com', 'pw');

    expect(result).toEqual({
      status: 'mfa-required',
      challenge: { mfa_token: 'mfa-secret-1', methods: ['totp', 'recovery_code', 'sms'], expires_in: 300 },
    });
    expect(client.state).not.toBe('signed-in');
    expect(client.accessToken).toBeNull();
    expect(listener).not.toHaveBeenCalled();
    expect(setItem).not.toHaveBeenCalled();
    expect(document.cookie).not.toContain('mfa-secret-1');
  });

  it('keeps only the methods it knows and refuses a challenge without a token', async () => {
    const { client } = makeClient({
      'POST /api/auth/login': (call) =>
        (call.body as { email: string }).email === 'a@x.io'
          ? json(200, { ...CHALLENGE, methods: ['webauthn', 'recovery_code'] })
          : json(200, { mfa_required: true, methods: ['totp'] }),
    });
    const result = await client.login('a@x.io', 'pw');
    expect(result.status === 'mfa-required' && result.challenge.methods).toEqual(['recovery_code']);
    await expect(client.login('b@x.io', 'pw')).rejects.toMatchObject({ code: 'internal' });
  });

  it('a plain token answer still signs in', async () => {
    const { client } = makeClient({ 'POST /api/auth/login': () => json(200, tokenBody('A1')) });
    expect(await client.login('ada@example.com', 'pw')).toEqual({ status: 'signed-in' });
    expect(client.accessToken).toBe('A1');
  });

  it('mfaVerify sends the token, method, code and cookie mode, then holds the access token', async () => {
    const listener = vi.fn();
    const { client, calls } = makeClient({ 'POST /api/auth/mfa/verify': () => json(200, tokenBody('A2')) });
    client.subscribe(listener);

    await client.mfaVerify('mfa-secret-1', 'totp', '123456');

    expect(calls[0].body).toEqual({ mfa_token: 'mfa-secret-1', method: 'totp', code: '123456', mode: 'cookie' });
    expect(calls[0].headers.authorization).toBeUndefined();
    expect(client.accessToken).toBe('A2');
    expect(client.state).toBe('signed-in');
    expect(listener).toHaveBeenCalledWith('signed-in', 'login');
    expect(localStorage.length + sessionStorage.length).toBe(0);
  });

  it('mfaVerify passes problems through without a refresh', async () => {
    const { client, calls } = makeClient({
      'POST /api/auth/mfa/verify': (call) => {
        const code = (call.body as { code: string }).code;
        if (code === '000000') return problem(400, 'invalid_code');
        if (code === '111111') return problem(410, 'code_attempts_exceeded');
        if (code === '222222') return problem(429, 'rate_limited', {}, { 'Retry-After': '30' });
        return problem(401, 'invalid_mfa_token');
      },
    });
    await expect(client.mfaVerify('t', 'totp', '000000')).rejects.toMatchObject({ code: 'invalid_code', status: 400 });
    await expect(client.mfaVerify('t', 'totp', '111111')).rejects.toMatchObject({ code: 'code_attempts_exceeded' });
    await expect(client.mfaVerify('t', 'totp', '222222')).rejects.toMatchObject({ code: 'rate_limited', retryAfter: 30 });
    const error = await client.mfaVerify('t', 'sms', '333333').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('invalid_mfa_token');
    expect(calls.some((c) => c.path === '/api/auth/refresh')).toBe(false);
    expect(client.accessToken).toBeNull();
  });

  it('mfaSendSms posts the mfa_token', async () => {
    const { client, calls } = makeClient({ 'POST /api/auth/mfa/sms': () => new Response(null, { status: 202 }) });
    await client.mfaSendSms('mfa-secret-1');
    expect(calls[0].body).toEqual({ mfa_token: 'mfa-secret-1' });
  });
});

describe('two-step verification and phone (signed in)', () => {
  async function signedIn(table: Record<string, Handler>) {
    const made = makeClient({ 'POST /api/auth/login': () => json(200, tokenBody('A1')), ...table });
    await made.client.login('ada@example.com', 'pw');
    return made;
  }

  it('calls each endpoint with the bearer token and the documented body', async () => {
    const { client, calls } = await signedIn({
      'GET /api/me/mfa': () => json(200, { totp: false, sms: false, recovery_codes_left: 0 }),
      'POST /api/me/mfa/totp': () => json(200, { secret: 'JBSW', otpauth_uri: 'otpauth://totp/x', qr_svg: '<svg/>' }),
      'POST /api/me/mfa/totp/confirm': () => json(200, { status: 'enabled', recovery_codes: ['a1', 'b2'] }),
      'DELETE /api/me/mfa/totp': () => noContent(),
      'POST /api/me/mfa/recovery-codes': () => json(200, { recovery_codes: ['c3'] }),
      'POST /api/me/phone': () => json(202, { status: 'code_sent', phone: '+821012345678' }),
      'POST /api/me/phone/verify': () => json(200, { phone: '+821012345678', phone_verified: true }),
      'DELETE /api/me/phone': () => noContent(),
    });

    expect(await client.mfaStatus()).toEqual({ totp: false, sms: false, recovery_codes_left: 0 });
    expect((await client.totpStart()).secret).toBe('JBSW');
    expect(await client.totpConfirm('123456')).toEqual(['a1', 'b2']);
    await client.totpDisable('pw', '654321');
    expect(await client.regenerateRecoveryCodes('pw', '111111')).toEqual(['c3']);
    expect((await client.addPhone('010-1234-5678')).phone).toBe('+821012345678');
    expect((await client.verifyPhone('222222')).phone_verified).toBe(true);
    await client.removePhone('pw');

    const sent = calls.slice(1).map((c) => [c.method, c.path, c.body, c.headers.authorization]);
    expect(sent).toEqual([
      ['GET', '/api/me/mfa', undefined, 'Bearer A1'],
      ['POST', '/api/me/mfa/totp', {}, 'Bearer A1'],
      ['POST', '/api/me/mfa/totp/confirm', { code: '123456' }, 'Bearer A1'],
      ['DELETE', '/api/me/mfa/totp', { password: 'pw', code: '654321' }, 'Bearer A1'],
      ['POST', '/api/me/mfa/recovery-codes', { password: 'pw', code: '111111' }, 'Bearer A1'],
      ['POST', '/api/me/phone', { phone: '010-1234-5678' }, 'Bearer A1'],
      ['POST', '/api/me/phone/verify', { code: '222222' }, 'Bearer A1'],
      ['DELETE', '/api/me/phone', { password: 'pw' }, 'Bearer A1'],
    ]);
    for (const call of calls.slice(1).filter((c) => c.method !== 'GET')) expect(call.headers['x-csrf-token']).toBe('csrf-123');
  });
});

describe('svgDataUrl', () => {
  it('base64-encodes the markup (UTF-8 included) as an image URL', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><title>키</title></svg>';
    const url = svgDataUrl(svg);
    expect(url.startsWith('data:image/svg+xml;base64,')).toBe(true);
    const bytes = Uint8Array.from(atob(url.split(',')[1]), (c) => c.charCodeAt(0));
    expect(new TextDecoder().decode(bytes)).toBe(svg);
  });
});
