// POST /api/auth/login: token answer, no enumeration between a wrong password and an unknown
// address, per-account and per-IP throttling (which a spoofed X-Forwarded-For cannot dodge).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  MANY_LOGIN_FAILURES,
  client,
  randomEmail,
  strongPassword,
  assertProblem,
  assertStatus,
  signup,
  login,
  describe,
  decodeJwt,
  sleep,
} from './harness.mjs';

let server;
let api;

before(async () => {
  server = await startServer();
  api = client(server.url);
});

after(async () => {
  await server?.stop();
});

test('a correct login answers a bearer token pair that is not cached', async () => {
  const { email, password } = await signup(api);
  const res = await api.post('/api/auth/login', { email, password });
  assertStatus(res, 200);
  assert.match(res.headers.get('cache-control') ?? '', /no-store/, describe(res));
  assert.equal(res.body.token_type, 'Bearer');
  assert.equal(typeof res.body.access_token, 'string');
  assert.equal(res.body.access_token.split('.').length, 3, 'the access token is a compact JWS');
  assert.equal(typeof res.body.refresh_token, 'string');
  assert.ok(res.body.refresh_token.length >= 32, 'the refresh token carries enough entropy');
  assert.ok(!res.body.refresh_token.includes('.'), 'the refresh token is opaque, not a JWT');
  assert.ok(Number.isInteger(res.body.expires_in) && res.body.expires_in > 0);
  const { payload } = decodeJwt(res.body.access_token);
  assert.equal(payload.exp - payload.iat, res.body.expires_in, 'expires_in matches the token lifetime');
  // Bearer mode sets no refresh cookie.
  assert.ok(!res.setCookies.some((c) => /latchkey_refresh=/.test(c)), describe(res));
  // mode "bearer" is the same as no mode.
  const explicit = await api.post('/api/auth/login', { email, password, mode: 'bearer' });
  assertStatus(explicit, 200);
  assert.equal(typeof explicit.body.refresh_token, 'string');
  assert.notEqual(explicit.body.refresh_token, res.body.refresh_token);
});

test('wrong password and unknown e-mail answer the same 401 invalid_credentials', async () => {
  const { email, password } = await signup(api);
  const tokens = await login(api, email, password);
  const wrong = await api.post('/api/auth/login', { email, password: `${password}x` });
  const unknown = await api.post('/api/auth/login', { email: randomEmail('nobody'), password });
  assertProblem(wrong, 401, 'invalid_credentials');
  assertProblem(unknown, 401, 'invalid_credentials');
  const strip = (b) => {
    const { request_id, ...rest } = b;
    return rest;
  };
  assert.deepEqual(strip(wrong.body), strip(unknown.body), 'no enumeration between the two failures');
  assert.notEqual(wrong.body.request_id, unknown.body.request_id);
  assert.equal(wrong.headers.get('content-type'), unknown.headers.get('content-type'));
  // No bearer challenge: no token was sent, a password was wrong.
  assert.equal(wrong.headers.get('www-authenticate'), null, describe(wrong));
  // A failed login wrote no session.
  const sessions = await api.get('/api/me/sessions', { token: tokens.access_token });
  assertStatus(sessions, 200);
  assert.equal(sessions.body.sessions.length, 1, describe(sessions));
});

test('a wrong password and an unknown e-mail take about as long (no timing enumeration)', async () => {
  const own = await startServer({ env: MANY_LOGIN_FAILURES });
  try {
    const a = client(own.url);
    const users = [];
    for (let i = 0; i < 9; i++) users.push(await signup(a));
    const median = (xs) => xs.slice().sort((x, y) => x - y)[xs.length >> 1];
    const timed = async (json) => {
      const t0 = performance.now();
      const res = await a.post('/api/auth/login', json);
      const ms = performance.now() - t0;
      assertProblem(res, 401, 'invalid_credentials');
      return ms;
    };
    const wrong = [];
    const unknown = [];
    for (let i = 0; i < 9; i++) {
      wrong.push(await timed({ email: users[i].email, password: 'Wrong-Password-123!' }));
      unknown.push(await timed({ email: randomEmail('nobody'), password: 'Wrong-Password-123!' }));
    }
    const ratio = median(unknown) / median(wrong);
    assert.ok(ratio > 0.5 && ratio < 2, `median unknown ${median(unknown).toFixed(1)} ms vs wrong password ${median(wrong).toFixed(1)} ms`);
  } finally {
    await own.stop();
  }
});

test('an unknown mode is refused with invalid_field', async () => {
  const { email, password } = await signup(api);
  const res = await api.post('/api/auth/login', { email, password, mode: 'session' });
  assertProblem(res, 400, 'invalid_field', 'mode');
  const extra = await api.post('/api/auth/login', { email, password, remember: true });
  assertProblem(extra, 400, 'invalid_field', 'remember');
});

test('after 5 failures an account is throttled with 429 and Retry-After, even for the right password', async () => {
  const own = await startServer();
  try {
    const a = client(own.url);
    const { email, password } = await signup(a);
    const other = await signup(a);
    for (let i = 0; i < 5; i++) {
      assertProblem(await a.post('/api/auth/login', { email, password: `wrong-${i}-${password}` }), 401, 'invalid_credentials');
    }
    let wait = 0;
    for (const pw of [`wrong-again-${password}`, password]) {
      const res = await a.post('/api/auth/login', { email, password: pw });
      assertProblem(res, 429, 'rate_limited');
      const retry = res.headers.get('retry-after');
      assert.ok(retry !== null, `Retry-After is set${describe(res)}`);
      assert.match(retry, /^[1-9][0-9]*$/, `Retry-After is a positive number of seconds${describe(res)}`);
      wait = Number(retry);
    }
    // The other account on the same IP is not affected.
    await login(a, other.email, other.password);
    // Once Retry-After has passed, the right password works again.
    assert.ok(wait <= 10, `the first lock is short with login_base_delay 1 s (Retry-After ${wait})`);
    await sleep(wait * 1000 + 250);
    await login(a, email, password);
  } finally {
    await own.stop();
  }
});

test('a spoofed X-Forwarded-For does not escape the per-IP limit', async () => {
  const own = await startServer();
  try {
    const a = client(own.url);
    // 20 failures (security.login_ip_free_attempts), each for another address and with another
    // forged client address: only the per-IP limit of 127.0.0.1 can catch them.
    for (let i = 0; i < 20; i++) {
      const res = await a.post(
        '/api/auth/login',
        { email: randomEmail('spray'), password: 'Not-The-Password-1!' },
        { headers: { 'x-forwarded-for': `203.0.113.${i + 1}`, 'x-real-ip': `198.51.100.${i + 1}`, forwarded: `for=192.0.2.${i + 1}` } },
      );
      assertProblem(res, 401, 'invalid_credentials');
    }
    const next = await a.post(
      '/api/auth/login',
      { email: randomEmail('spray'), password: 'Not-The-Password-1!' },
      { headers: { 'x-forwarded-for': '203.0.113.200' } },
    );
    assertProblem(next, 429, 'rate_limited');
    assert.match(next.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/, describe(next));
    // The sessions list shows the real peer address, not the forged one.
    const other = await startServer();
    try {
      const b = client(other.url);
      const u = await signup(b);
      const res = await b.post('/api/auth/login', { email: u.email, password: u.password }, { headers: { 'x-forwarded-for': '203.0.113.7' } });
      assertStatus(res, 200);
      const list = await b.get('/api/me/sessions', { token: res.body.access_token });
      assertStatus(list, 200);
      assert.equal(list.body.sessions[0].ip, '127.0.0.1', describe(list));
    } finally {
      await other.stop();
    }
  } finally {
    await own.stop();
  }
});
