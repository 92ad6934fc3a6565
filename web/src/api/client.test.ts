import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, createApiClient, readDocumentCookie, type ApiClient, type ClientOptions } from './client';
import { parseRetryAfter, problemFromResponse } from './problem';
import {
  deferred,
  FakeBus,
  FakeLocks,
  flush,
  json,
  noContent,
  problem,
  scriptedFetch,
  tokenBody,
  type Handler,
} from '../test/fakes';

const USER = {
  id: 'u1',
  email: 'ada@example.com',
  name: 'Ada',
  state: 'active',
  email_verified: true,
  roles: ['user'],
  created_at: '2026-11-24T10:00:00Z',
};

const clients: ApiClient[] = [];

function makeClient(handler: Handler, options: Partial<ClientOptions> = {}) {
  const server = scriptedFetch(handler);
  const client = createApiClient({
    fetch: server.fetch,
    channel: null,
    locks: null,
    jitterMs: () => 0,
    readCookie: (name) => (name === '__Host-latchkey_csrf' ? 'csrf-123' : undefined),
    ...options,
  });
  clients.push(client);
  return { client, calls: server.calls };
}

/** Routes by "METHOD path"; the login route always answers with token A1. */
function routes(table: Record<string, Handler>): Handler {
  return (call) => {
    const key = `${call.method} ${call.path}`;
    if (table[key]) return table[key](call);
    if (key === 'POST /api/auth/login') return json(200, tokenBody('A1'));
    return problem(404, 'not_found');
  };
}

afterEach(() => {
  while (clients.length) clients.pop()!.dispose();
  vi.useRealTimers();
  localStorage.clear();
  sessionStorage.clear();
});

describe('access token', () => {
  it('is kept in memory and sent as a bearer token, never stored', async () => {
    const setItem = vi.spyOn(Storage.prototype, 'setItem');
    const { client, calls } = makeClient(routes({ 'GET /api/me': () => json(200, USER) }));

    await client.login('ada@example.com', 'correct horse');
    expect(client.state).toBe('signed-in');
    expect(client.accessToken).toBe('A1');
    const me = await client.me();

    expect(me.email).toBe('ada@example.com');
    expect(calls[0].body).toEqual({ email: 'ada@example.com', password: 'correct horse', mode: 'cookie' });
    expect(calls[0].headers.authorization).toBeUndefined();
    expect(calls[1].headers.authorization).toBe('Bearer A1');
    expect(setItem).not.toHaveBeenCalled();
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(document.cookie).not.toContain('A1');
  });

  it('refreshes once on a 401 and retries with the new token', async () => {
    const { client, calls } = makeClient(
      routes({
        'GET /api/me': (call) =>
          call.headers.authorization === 'Bearer A2' ? json(200, USER) : problem(401, 'token_expired'),
        'POST /api/auth/refresh': () => json(200, tokenBody('A2')),
      }),
    );
    await client.login('ada@example.com', 'pw');

    await expect(client.me()).resolves.toMatchObject({ id: 'u1' });

    expect(calls.map((c) => `${c.method} ${c.path} ${c.headers.authorization ?? '-'}`)).toEqual([
      'POST /api/auth/login -',
      'GET /api/me Bearer A1',
      'POST /api/auth/refresh -',
      'GET /api/me Bearer A2',
    ]);
    expect(calls[2].body).toEqual({ mode: 'cookie' });
    expect(calls[2].headers['x-csrf-token']).toBe('csrf-123');
    expect(client.accessToken).toBe('A2');
  });

  it('does not loop when the retried request is refused again', async () => {
    const { client, calls } = makeClient(
      routes({
        'GET /api/me': () => problem(401, 'invalid_token'),
        'POST /api/auth/refresh': () => json(200, tokenBody('A2')),
      }),
    );
    await client.login('ada@example.com', 'pw');

    const error = await client.me().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('invalid_token');
    expect(calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
    expect(calls.filter((c) => c.path === '/api/me')).toHaveLength(2);
    expect(client.state).toBe('signed-out');
  });

  it('signs out when the refresh itself is refused', async () => {
    const states: string[] = [];
    const { client, calls } = makeClient(
      routes({
        'GET /api/me': () => problem(401, 'token_expired'),
        'POST /api/auth/refresh': () => problem(401, 'invalid_refresh_token'),
      }),
    );
    client.subscribe((state, reason) => states.push(`${state}:${reason}`));
    await client.login('ada@example.com', 'pw');

    await expect(client.me()).rejects.toMatchObject({ code: 'token_expired', status: 401 });

    expect(calls.filter((c) => c.path === '/api/me')).toHaveLength(1);
    expect(client.accessToken).toBeNull();
    expect(states).toEqual(['signed-in:login', 'signed-out:expired']);
  });

  it('a revoked session (401 session_revoked) is refreshed once; a refused refresh signs out', async () => {
    const states: string[] = [];
    const { client, calls } = makeClient(
      routes({
        'GET /api/me': () => problem(401, 'session_revoked'),
        'POST /api/auth/refresh': () => problem(401, 'invalid_refresh_token'),
      }),
    );
    client.subscribe((state, reason) => states.push(`${state}:${reason}`));
    await client.login('ada@example.com', 'pw');

    await expect(client.me()).rejects.toMatchObject({ code: 'session_revoked', status: 401 });

    expect(calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
    expect(client.accessToken).toBeNull();
    expect(states).toEqual(['signed-in:login', 'signed-out:expired']);
  });

  it('a disabled account signs the tab out with reason "disabled", from a request or a refresh', async () => {
    const states: string[] = [];
    const { client } = makeClient(routes({ 'PATCH /api/me': () => problem(403, 'account_disabled') }));
    client.subscribe((state, reason) => states.push(`${state}:${reason}`));
    await client.login('ada@example.com', 'pw');
    await expect(client.updateProfile('Ada')).rejects.toMatchObject({ code: 'account_disabled', status: 403 });
    expect(client.accessToken).toBeNull();
    expect(states).toEqual(['signed-in:login', 'signed-out:disabled']);

    const other: string[] = [];
    const second = makeClient(
      routes({
        'GET /api/me': () => problem(401, 'token_expired'),
        'POST /api/auth/refresh': () => problem(403, 'account_disabled'),
      }),
    ).client;
    second.subscribe((state, reason) => other.push(`${state}:${reason}`));
    await second.login('ada@example.com', 'pw');
    await expect(second.me()).rejects.toMatchObject({ code: 'token_expired' });
    expect(other).toEqual(['signed-in:login', 'signed-out:disabled']);
  });

  it('a 403 other than account_disabled keeps the tab signed in', async () => {
    const { client } = makeClient(routes({ 'GET /api/me': () => problem(403, 'forbidden') }));
    await client.login('ada@example.com', 'pw');
    await expect(client.me()).rejects.toMatchObject({ code: 'forbidden' });
    expect(client.state).toBe('signed-in');
    expect(client.accessToken).toBe('A1');
  });

  it('does not refresh for a 401 that is about the request, such as a wrong password', async () => {
    const { client, calls } = makeClient(
      routes({
        'DELETE /api/me': () => problem(401, 'invalid_credentials', { detail: 'wrong password' }),
        'POST /api/auth/refresh': () => json(200, tokenBody('A2')),
      }),
    );
    await client.login('ada@example.com', 'pw');

    await expect(client.deleteAccount('nope')).rejects.toMatchObject({ code: 'invalid_credentials' });

    expect(calls.some((c) => c.path === '/api/auth/refresh')).toBe(false);
    expect(client.state).toBe('signed-in');
    expect(client.accessToken).toBe('A1');
  });

  it('shares one in-flight refresh between concurrent callers', async () => {
    const gate = deferred<Response>();
    const { client, calls } = makeClient(
      routes({
        'GET /api/me': (call) =>
          call.headers.authorization === 'Bearer A2' ? json(200, USER) : problem(401, 'token_expired'),
        'GET /api/me/sessions': (call) =>
          call.headers.authorization === 'Bearer A2' ? json(200, { sessions: [] }) : problem(401, 'token_expired'),
        'POST /api/auth/refresh': () => gate.promise,
      }),
    );
    await client.login('ada@example.com', 'pw');

    const results = Promise.all([client.me(), client.me(), client.sessions()]);
    await flush(20);
    expect(calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
    gate.resolve(json(200, tokenBody('A2')));
    const [a, b, sessions] = await results;

    expect(a.id).toBe('u1');
    expect(b.id).toBe('u1');
    expect(sessions).toEqual([]);
    expect(calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
  });

  it('refreshes in the background shortly before the token expires', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-25T00:00:00Z'));
    const { client, calls } = makeClient(
      routes({ 'POST /api/auth/refresh': () => json(200, tokenBody('A2', 300)) }),
      { now: () => Date.now() },
    );
    await client.login('ada@example.com', 'pw');
    // expires_in 600 s: the refresh runs 60 s before expiry.
    await vi.advanceTimersByTimeAsync(539_000);
    expect(calls.some((c) => c.path === '/api/auth/refresh')).toBe(false);

    await vi.advanceTimersByTimeAsync(2_000);

    expect(calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
    expect(client.accessToken).toBe('A2');
  });

  it('tries one silent refresh at start', async () => {
    const { client, calls } = makeClient(routes({ 'POST /api/auth/refresh': () => json(200, tokenBody('R1')) }));

    await expect(Promise.all([client.init(), client.init()])).resolves.toEqual(['signed-in', 'signed-in']);

    expect(calls).toHaveLength(1);
    expect(client.accessToken).toBe('R1');
  });

  it('is signed out at start when there is no session', async () => {
    const { client } = makeClient(routes({ 'POST /api/auth/refresh': () => problem(401, 'unauthenticated') }));

    await expect(client.init()).resolves.toBe('signed-out');
    expect(client.accessToken).toBeNull();
  });
});

describe('CSRF header', () => {
  it('is sent on state-changing requests and not on reads', async () => {
    const { client, calls } = makeClient(
      routes({
        'GET /api/me': () => json(200, USER),
        'PATCH /api/me': () => json(200, { ...USER, name: 'Ada L.' }),
        'POST /api/auth/logout': () => noContent(),
      }),
    );
    await client.login('ada@example.com', 'pw');
    await client.me();
    await client.updateProfile('Ada L.');
    await client.logout();

    expect(calls.map((c) => `${c.method} ${c.headers['x-csrf-token'] ?? '-'}`)).toEqual([
      'POST csrf-123',
      'GET -',
      'PATCH csrf-123',
      'POST csrf-123',
    ]);
    expect(calls[3].path).toBe('/api/auth/logout');
    expect(client.state).toBe('signed-out');
    expect(client.accessToken).toBeNull();
  });

  it('is left out when there is no CSRF cookie', async () => {
    const { client, calls } = makeClient(routes({}), { readCookie: () => undefined });
    await client.login('ada@example.com', 'pw');
    expect(calls[0].headers['x-csrf-token']).toBeUndefined();
  });

  it('reads the development cookie name from document.cookie', async () => {
    document.cookie = 'other=1';
    document.cookie = 'latchkey_csrf=dev%2Dvalue';
    expect(readDocumentCookie('latchkey_csrf')).toBe('dev-value');
    const { client, calls } = makeClient(routes({}), { readCookie: undefined });
    await client.login('ada@example.com', 'pw');
    expect(calls[0].headers['x-csrf-token']).toBe('dev-value');
    document.cookie = 'latchkey_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT';
  });

  it('goes with logout-all together with the bearer token', async () => {
    const { client, calls } = makeClient(routes({ 'POST /api/auth/logout-all': () => noContent() }));
    await client.login('ada@example.com', 'pw');
    await client.logoutAll();
    expect(calls[1].headers.authorization).toBe('Bearer A1');
    expect(calls[1].headers['x-csrf-token']).toBe('csrf-123');
    expect(client.state).toBe('signed-out');
  });
});

describe('problem+json', () => {
  it('is parsed into an ApiError with code, status, detail and field', async () => {
    const { client } = makeClient(
      routes({
        'POST /api/auth/signup': () =>
          problem(422, 'weak_password', { detail: 'too common', field: 'password' }),
      }),
    );
    const error = (await client.signup('a@b.co', 'password', 'A').catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'weak_password', status: 422, detail: 'too common', field: 'password' });
  });

  it('carries Retry-After as seconds', async () => {
    const { client } = makeClient(
      routes({ 'POST /api/auth/login': () => problem(429, 'rate_limited', {}, { 'Retry-After': '30' }) }),
    );
    await expect(client.login('a@b.co', 'x')).rejects.toMatchObject({ code: 'rate_limited', retryAfter: 30 });
    expect(client.state).not.toBe('signed-in');
  });

  it('reads Retry-After as an HTTP date too', () => {
    const now = Date.parse('2026-11-25T00:00:00Z');
    expect(parseRetryAfter('Wed, 25 Nov 2026 00:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('falls back to the status when the body is not a problem document', async () => {
    const html = new Response('<h1>Bad gateway</h1>', { status: 502, headers: { 'Content-Type': 'text/html' } });
    await expect(problemFromResponse(html, 0)).resolves.toMatchObject({ code: 'internal', status: 502 });
    const unknownCode = problem(503, 'something_new');
    await expect(problemFromResponse(unknownCode, 0)).resolves.toMatchObject({ code: 'unavailable', status: 503 });
    const broken = new Response('{oops', { status: 400, headers: { 'Content-Type': 'application/problem+json' } });
    await expect(problemFromResponse(broken, 0)).resolves.toMatchObject({ code: 'invalid_request' });
  });

  it('turns a network failure into code "network"', async () => {
    const { client } = makeClient(() => {
      throw new TypeError('Failed to fetch');
    });
    await expect(client.login('a@b.co', 'x')).rejects.toMatchObject({ code: 'network', status: 0 });
  });

  it('treats a 404 from /api/auth/providers as no providers', async () => {
    const { client } = makeClient(routes({}));
    await expect(client.providers()).resolves.toEqual([]);
  });
});

describe('several tabs', () => {
  let bus: FakeBus;
  beforeEach(() => {
    bus = new FakeBus();
  });

  it('a login in one tab signs the other tabs in', async () => {
    const a = makeClient(routes({}), { channel: bus.endpoint() });
    const b = makeClient(routes({}), { channel: bus.endpoint() });
    const seen: string[] = [];
    b.client.subscribe((state, reason) => seen.push(`${state}:${reason}`));

    await a.client.login('ada@example.com', 'pw');
    await flush();

    expect(b.client.accessToken).toBe('A1');
    expect(seen).toEqual(['signed-in:peer-login']);
    expect(b.calls).toHaveLength(0);
  });

  it('a logout in one tab logs out the others', async () => {
    const a = makeClient(routes({ 'POST /api/auth/logout': () => noContent() }), { channel: bus.endpoint() });
    const b = makeClient(routes({}), { channel: bus.endpoint() });
    const seen: string[] = [];
    await a.client.login('ada@example.com', 'pw');
    await flush();
    b.client.subscribe((state, reason) => seen.push(`${state}:${reason}`));

    await a.client.logout();
    await flush();

    expect(b.client.state).toBe('signed-out');
    expect(b.client.accessToken).toBeNull();
    expect(seen).toEqual(['signed-out:peer-logout']);
  });

  it('a tab waits for the refresh another tab announced instead of refreshing itself', async () => {
    const gate = deferred<Response>();
    let refreshes = 0;
    const handler = routes({
      'GET /api/me': (call) =>
        call.headers.authorization === 'Bearer A2' ? json(200, USER) : problem(401, 'token_expired'),
      'POST /api/auth/refresh': () => {
        refreshes++;
        return gate.promise;
      },
    });
    const a = makeClient(handler, { channel: bus.endpoint() });
    const b = makeClient(handler, { channel: bus.endpoint() });
    await a.client.login('ada@example.com', 'pw');
    await flush();

    const refreshA = a.client.refresh();
    await flush();
    const meB = b.client.me();
    await flush(20);
    expect(refreshes).toBe(1);
    gate.resolve(json(200, tokenBody('A2')));

    await expect(refreshA).resolves.toBe('ok');
    await expect(meB).resolves.toMatchObject({ id: 'u1' });
    expect(refreshes).toBe(1);
    expect(b.client.accessToken).toBe('A2');
    expect(b.calls.map((c) => `${c.method} ${c.path} ${c.headers.authorization}`)).toEqual([
      'GET /api/me Bearer A1',
      'GET /api/me Bearer A2',
    ]);
  });

  it('refreshes of different tabs never overlap when Web Locks are available', async () => {
    const locks = new FakeLocks();
    let active = 0;
    let maxActive = 0;
    let n = 0;
    const handler = routes({
      'POST /api/auth/refresh': async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await flush(5);
        active--;
        n++;
        return json(200, tokenBody(`R${n}`));
      },
    });
    const a = makeClient(handler, { locks });
    const b = makeClient(handler, { locks });

    await Promise.all([a.client.refresh(), b.client.refresh()]);

    expect(maxActive).toBe(1);
    expect(locks.maxHeld).toBe(1);
    expect(n).toBe(2);
  });
});

describe('e-mail verification, password reset and change of address', () => {
  it('posts a verification token in cookie mode without a bearer token', async () => {
    const { client, calls } = makeClient(
      routes({
        'POST /api/auth/verify-email': () =>
          json(200, { status: 'verified', email: 'ada@example.com', purpose: 'verify_email' }),
      }),
    );

    await expect(client.verifyEmail({ token: 'sel.ver' })).resolves.toEqual({
      status: 'verified',
      email: 'ada@example.com',
      purpose: 'verify_email',
      signedIn: false,
    });

    expect(calls).toHaveLength(1);
    expect(calls[0].body).toEqual({ token: 'sel.ver', mode: 'cookie' });
    expect(calls[0].headers.authorization).toBeUndefined();
    expect(calls[0].headers['x-csrf-token']).toBe('csrf-123');
    expect(client.state).toBe('unknown');
    expect(client.accessToken).toBeNull();
  });

  it('posts an address and a code, and reports a change of address', async () => {
    const { client, calls } = makeClient(
      routes({
        'POST /api/auth/verify-email': () =>
          json(200, { status: 'verified', email: 'new@example.com', purpose: 'change_email' }),
      }),
    );
    const result = await client.verifyEmail({ email: 'new@example.com', code: '012345' });
    expect(calls[0].body).toEqual({ email: 'new@example.com', code: '012345', mode: 'cookie' });
    expect(result).toMatchObject({ purpose: 'change_email', email: 'new@example.com', signedIn: false });
  });

  it('signs in when the verification answer carries tokens, keeping them out of the result', async () => {
    const seen: string[] = [];
    const { client } = makeClient(
      routes({
        'POST /api/auth/verify-email': () =>
          json(200, { ...tokenBody('V1'), status: 'verified', email: 'ada@example.com', purpose: 'verify_email' }),
      }),
    );
    client.subscribe((state, reason) => seen.push(`${state}:${reason}`));

    const result = await client.verifyEmail({ token: 'sel.ver' });

    expect(result).toEqual({ status: 'verified', email: 'ada@example.com', purpose: 'verify_email', signedIn: true });
    expect(JSON.stringify(result)).not.toContain('V1');
    expect(client.state).toBe('signed-in');
    expect(client.accessToken).toBe('V1');
    expect(seen).toEqual(['signed-in:login']);
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
  });

  it('keeps the session from a verification when the start-up refresh is refused afterwards', async () => {
    const gate = deferred<Response>();
    const { client } = makeClient(
      routes({
        'POST /api/auth/refresh': () => gate.promise,
        'POST /api/auth/verify-email': () =>
          json(200, { ...tokenBody('V1'), status: 'verified', email: 'ada@example.com', purpose: 'verify_email' }),
      }),
    );
    const init = client.init();
    await flush();
    await client.verifyEmail({ token: 'sel.ver' });
    // The refresh left before the verification answer set the cookie: the server refuses it.
    gate.resolve(problem(401, 'unauthenticated'));

    await expect(init).resolves.toBe('signed-in');
    expect(client.accessToken).toBe('V1');
  });

  it.each([
    [400, 'verification_token_invalid'],
    [400, 'verification_token_unknown'],
    [410, 'verification_token_expired'],
    [410, 'verification_token_used'],
    [400, 'invalid_code'],
    [410, 'code_attempts_exceeded'],
    [409, 'conflict'],
  ])('turns a %i %s answer into that ApiError code without refreshing', async (status, code) => {
    const { client, calls } = makeClient(routes({ 'POST /api/auth/verify-email': () => problem(status, code) }));
    await expect(client.verifyEmail({ token: 't' })).rejects.toMatchObject({ code, status });
    expect(calls).toHaveLength(1);
    expect(client.accessToken).toBeNull();
  });

  it('asks for a new verification mail and carries Retry-After when limited', async () => {
    let limited = false;
    const { client, calls } = makeClient(
      routes({
        'POST /api/auth/verify-email/resend': () =>
          limited
            ? problem(429, 'rate_limited', {}, { 'Retry-After': '120' })
            : json(202, { status: 'accepted', message: 'If the address…' }),
      }),
    );
    await expect(client.resendVerification('ada@example.com')).resolves.toMatchObject({ status: 'accepted' });
    expect(calls[0]).toMatchObject({ method: 'POST', body: { email: 'ada@example.com' } });
    expect(calls[0].headers.authorization).toBeUndefined();

    limited = true;
    await expect(client.resendVerification('ada@example.com')).rejects.toMatchObject({
      code: 'rate_limited',
      status: 429,
      retryAfter: 120,
    });
  });

  it('asks for a password reset link', async () => {
    const { client, calls } = makeClient(
      routes({ 'POST /api/auth/password/forgot': () => json(202, { status: 'accepted' }) }),
    );
    await expect(client.forgotPassword('ada@example.com')).resolves.toEqual({ status: 'accepted' });
    expect(calls[0].body).toEqual({ email: 'ada@example.com' });
  });

  it('resets the password with the token, and reports the policy detail of a weak one', async () => {
    const { client, calls } = makeClient(
      routes({
        'POST /api/auth/password/reset': (call) =>
          (call.body as { password: string }).password === 'password'
            ? problem(400, 'weak_password', { field: 'password', detail: 'This is a very common password.' })
            : json(200, { status: 'password_reset' }),
      }),
    );
    await expect(client.resetPassword('sel.ver', 'password')).rejects.toMatchObject({
      code: 'weak_password',
      field: 'password',
      detail: 'This is a very common password.',
    });
    await expect(client.resetPassword('sel.ver', 'violet tractor umbrella')).resolves.toEqual({
      status: 'password_reset',
    });
    expect(calls[1].body).toEqual({ token: 'sel.ver', password: 'violet tractor umbrella' });
    expect(calls[1].headers.authorization).toBeUndefined();
  });

  it('starts a change of address with the bearer token', async () => {
    const { client, calls } = makeClient(
      routes({
        'POST /api/me/email': () => json(202, { status: 'verification_sent', pending_email: 'new@example.com' }),
      }),
    );
    await client.login('ada@example.com', 'pw');
    await expect(client.changeEmail('New@Example.com', 'pw')).resolves.toMatchObject({
      pending_email: 'new@example.com',
    });
    expect(calls[1].body).toEqual({ new_email: 'New@Example.com', password: 'pw' });
    expect(calls[1].headers.authorization).toBe('Bearer A1');
    expect(calls[1].headers['x-csrf-token']).toBe('csrf-123');
  });

  it('does not refresh when the password for a change of address is wrong', async () => {
    const { client, calls } = makeClient(
      routes({
        'POST /api/me/email': () => problem(401, 'invalid_credentials', { field: 'password' }),
        'POST /api/auth/refresh': () => json(200, tokenBody('A2')),
      }),
    );
    await client.login('ada@example.com', 'pw');
    await expect(client.changeEmail('new@example.com', 'nope')).rejects.toMatchObject({
      code: 'invalid_credentials',
      field: 'password',
    });
    expect(calls.some((c) => c.path === '/api/auth/refresh')).toBe(false);
    expect(client.state).toBe('signed-in');
  });
});
