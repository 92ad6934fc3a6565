// Attack suite: accounts and sessions, black-box against the real binary. Refresh token reuse
// and replay across users, CSRF and cookie tossing in cookie mode, mass assignment, SQL
// metacharacters, Unicode confusables and NUL bytes, open redirects, and header injection
// through reflected values. Each case asserts the exact status and problem code and that
// nothing changed (the old password still works, no account appeared, the session lives on or
// is still dead).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  client,
  newUser,
  signup,
  login,
  loginFails,
  randomEmail,
  randomHex,
  strongPassword,
  assertProblem,
  assertStatus,
  parseSetCookies,
  decodeJwt,
  runCli,
  MANY_LOGIN_FAILURES,
} from '../api/harness.mjs';
import { check, show } from './lib.mjs';

const APP = 'https://app.example.com/';
const REFRESH = '__Host-latchkey_refresh';
const CSRF = '__Host-latchkey_csrf';

let srv;
let api;

before(async () => {
  srv = await startServer({
    cookieSecure: true,
    env: {
      ...MANY_LOGIN_FAILURES,
      LATCHKEY_SECURITY_LOGIN_FREE_ATTEMPTS: '1000',
      // No grace: a rotated refresh token presented again is reuse at once.
      LATCHKEY_TOKENS_REFRESH_GRACE: '0',
      LATCHKEY_SOCIAL_GH_KIND: 'github',
      LATCHKEY_SOCIAL_GH_CLIENT_ID: 'client-id',
      LATCHKEY_SOCIAL_GH_CLIENT_SECRET: 'client-secret',
      LATCHKEY_SOCIAL_ALLOWED_RETURN_TO: APP,
    },
  });
  api = client(srv.url);
});

after(async () => {
  await srv?.stop();
});

function refresh(token) {
  return api.post('/api/auth/refresh', { refresh_token: token });
}

/** Logs in in cookie mode: {access, refresh, csrf} from the Set-Cookie lines. */
async function cookieLogin(user) {
  const res = await api.post('/api/auth/login', { email: user.email, password: user.password, mode: 'cookie' });
  assertStatus(res, 200);
  const cookies = parseSetCookies(res.setCookies);
  assert.ok(cookies[REFRESH] && cookies[CSRF], show(res));
  return { access: res.body.access_token, refresh: cookies[REFRESH].value, csrf: cookies[CSRF].value };
}

function cookieRefresh(cookieHeader, csrfHeader) {
  const headers = { cookie: cookieHeader };
  if (csrfHeader !== undefined) headers['x-csrf-token'] = csrfHeader;
  return api('POST', '/api/auth/refresh', { headers });
}

// --- refresh tokens: reuse and replay -------------------------------------------------------------

test('a rotated refresh token presented again ends the whole family', async () => {
  const user = await newUser(api);
  const first = user.tokens.refresh_token;
  const rotated = await refresh(first);
  assertStatus(rotated, 200);
  assertProblem(await refresh(first), 401, 'refresh_token_reused');
  // The successor died with the family, and so did the session behind the access tokens.
  assertProblem(await refresh(rotated.body.refresh_token), 401, 'invalid_refresh_token');
  assertProblem(await check(api, rotated.body.access_token), 401, 'session_revoked');
  assertProblem(await refresh(first), 401, 'refresh_token_reused'); // still dead, still reported
  await login(api, user.email, user.password); // the account itself is fine
});

test('a refresh token replayed after logout is refused and does not revive the session', async () => {
  const user = await newUser(api);
  assertStatus(await api.post('/api/auth/logout', { refresh_token: user.tokens.refresh_token }), 204);
  assertProblem(await refresh(user.tokens.refresh_token), 401, 'invalid_refresh_token');
  assertProblem(await check(api, user.tokens.access_token), 401, 'session_revoked');
});

test('a tampered or truncated refresh token is refused and the real one still rotates', async () => {
  const user = await newUser(api);
  const t = user.tokens.refresh_token;
  const flipped = t.slice(0, -1) + (t.at(-1) === 'A' ? 'B' : 'A');
  for (const bad of [flipped, t.slice(0, -1), `${t}A`, t.toUpperCase(), "' OR '1'='1"]) {
    assertProblem(await refresh(bad), 401, 'invalid_refresh_token');
  }
  assertStatus(await refresh(t), 200);
});

test("one user's access token cannot end or list another user's sessions", async () => {
  const alice = await newUser(api);
  const bob = await newUser(api);
  const bobSessions = await api.get('/api/me/sessions', { token: bob.tokens.access_token });
  const bobSid = bobSessions.body.sessions[0].id;
  assertProblem(await api.delete(`/api/me/sessions/${bobSid}`, undefined, { token: alice.tokens.access_token }), 404, 'not_found');
  const aliceSees = await api.get('/api/me/sessions', { token: alice.tokens.access_token });
  assert.ok(!aliceSees.body.sessions.some((s) => s.id === bobSid), show(aliceSees));
  // Bob's session lives on.
  assertStatus(await refresh(bob.tokens.refresh_token), 200);
});

test("a refresh token only ever yields its own user's tokens, whoever presents it", async () => {
  const alice = await newUser(api);
  const bob = await newUser(api);
  const res = await api.post('/api/auth/refresh', { refresh_token: alice.tokens.refresh_token }, { token: bob.tokens.access_token });
  assertStatus(res, 200);
  assert.equal(decodeJwt(res.body.access_token).payload.sub, decodeJwt(alice.tokens.access_token).payload.sub);
  // Bob's logout with Alice's refresh token in the body ends Alice's session, not Bob's: the
  // refresh token is the credential, the bearer is not consulted.
  assertStatus(await api.post('/api/auth/logout', { refresh_token: res.body.refresh_token }, { token: bob.tokens.access_token }), 204);
  assertStatus(await check(api, bob.tokens.access_token), 200);
  assertStatus(await refresh(bob.tokens.refresh_token), 200);
});

// --- CSRF in cookie mode --------------------------------------------------------------------------

test('CSRF: a cookie refresh without X-CSRF-Token is refused and the cookie stays valid', async () => {
  const user = await newUser(api);
  const c = await cookieLogin(user);
  const res = await cookieRefresh(`${REFRESH}=${c.refresh}; ${CSRF}=${c.csrf}`);
  assertProblem(res, 403, 'csrf_failed');
  assert.deepEqual(res.setCookies, [], 'a refused request changes no cookie');
  assertStatus(await cookieRefresh(`${REFRESH}=${c.refresh}; ${CSRF}=${c.csrf}`, c.csrf), 200);
});

test('CSRF: a mismatched, empty or cookie-less X-CSRF-Token is refused', async () => {
  const user = await newUser(api);
  const c = await cookieLogin(user);
  const jar = `${REFRESH}=${c.refresh}; ${CSRF}=${c.csrf}`;
  for (const header of [`${c.csrf}x`, c.csrf.slice(1), c.refresh, 'null', ' ']) {
    assertProblem(await cookieRefresh(jar, header), 403, 'csrf_failed');
  }
  // The header alone, without the CSRF cookie, proves nothing.
  assertProblem(await cookieRefresh(`${REFRESH}=${c.refresh}`, c.csrf), 403, 'csrf_failed');
  assertStatus(await cookieRefresh(jar, c.csrf), 200);
});

test('CSRF: a cookie logout without the header is refused and the session lives on', async () => {
  const user = await newUser(api);
  const c = await cookieLogin(user);
  const res = await api('POST', '/api/auth/logout', { headers: { cookie: `${REFRESH}=${c.refresh}; ${CSRF}=${c.csrf}` } });
  assertProblem(res, 403, 'csrf_failed');
  assertStatus(await check(api, c.access), 200);
  assertStatus(await cookieRefresh(`${REFRESH}=${c.refresh}; ${CSRF}=${c.csrf}`, c.csrf), 200);
});

// --- cookie tossing -----------------------------------------------------------------------------

test('cookie tossing: a refresh cookie without the __Host- prefix is ignored', async () => {
  const attacker = await newUser(api);
  const csrf = randomHex(16);
  // A sibling subdomain can set "latchkey_refresh" but never "__Host-latchkey_refresh".
  const res = await cookieRefresh(`latchkey_refresh=${attacker.tokens.refresh_token}; latchkey_csrf=${csrf}`, csrf);
  assertProblem(res, 401, 'unauthenticated');
  // The attacker's token was not used (it still rotates once, normally).
  assertStatus(await refresh(attacker.tokens.refresh_token), 200);
});

test('cookie tossing: two refresh cookies of the same name are ambiguous and neither is used', async () => {
  const victim = await newUser(api);
  const v = await cookieLogin(victim);
  const attacker = await newUser(api);
  const a = await cookieLogin(attacker);
  // The attacker's cookie first (a more specific path sorts first in browsers).
  const res = await cookieRefresh(`${REFRESH}=${a.refresh}; ${REFRESH}=${v.refresh}; ${CSRF}=${v.csrf}`, v.csrf);
  assertProblem(res, 401, 'unauthenticated');
  assert.deepEqual(res.setCookies, [], show(res));
  // Neither token was rotated or revoked: both still work once.
  assertStatus(await cookieRefresh(`${REFRESH}=${v.refresh}; ${CSRF}=${v.csrf}`, v.csrf), 200);
  assertStatus(await cookieRefresh(`${REFRESH}=${a.refresh}; ${CSRF}=${a.csrf}`, a.csrf), 200);
});

test('cookie tossing: an injected second CSRF cookie does not satisfy the check', async () => {
  const victim = await newUser(api);
  const v = await cookieLogin(victim);
  const chosen = randomHex(16);
  const res = await cookieRefresh(`${CSRF}=${chosen}; ${REFRESH}=${v.refresh}; ${CSRF}=${v.csrf}`, chosen);
  assertProblem(res, 403, 'csrf_failed');
  assertStatus(await cookieRefresh(`${REFRESH}=${v.refresh}; ${CSRF}=${v.csrf}`, v.csrf), 200);
});

test('cookie mode sets __Host- cookies: Secure, HttpOnly refresh, SameSite=Strict, Path=/', async () => {
  const user = await newUser(api);
  const res = await api.post('/api/auth/login', { email: user.email, password: user.password, mode: 'cookie' });
  const cookies = parseSetCookies(res.setCookies);
  for (const name of [REFRESH, CSRF]) {
    assert.equal(cookies[name].attrs.path, '/');
    assert.equal(cookies[name].attrs.secure, true);
    assert.equal(cookies[name].attrs.samesite, 'Strict');
    assert.equal(cookies[name].attrs.domain, undefined);
  }
  assert.equal(cookies[REFRESH].attrs.httponly, true);
  assert.equal(res.body.refresh_token, undefined, 'no refresh token in the body in cookie mode');
});

test('session fixation: a login ignores a refresh cookie planted before it and sets a new one', async () => {
  const attacker = await newUser(api);
  const planted = (await cookieLogin(attacker)).refresh;
  const victim = await newUser(api);
  const res = await api.post('/api/auth/login', { email: victim.email, password: victim.password, mode: 'cookie' }, {
    headers: { cookie: `${REFRESH}=${planted}; ${CSRF}=planted` },
  });
  assertStatus(res, 200);
  const cookies = parseSetCookies(res.setCookies);
  assert.notEqual(cookies[REFRESH].value, planted);
  assert.notEqual(cookies[CSRF].value, 'planted');
  assert.equal(decodeJwt(res.body.access_token).payload.email, victim.email);
  // The planted (attacker's) session is untouched and still the attacker's.
  const again = await cookieRefresh(`${REFRESH}=${planted}; ${CSRF}=x`, 'x');
  assertStatus(again, 200);
  assert.equal(decodeJwt(again.body.access_token).payload.email, attacker.email);
});

// --- mass assignment ------------------------------------------------------------------------------

for (const [field, value] of [
  ['roles', ['admin']],
  ['status', 'active'],
  ['state', 'active'],
  ['id', '00000000-0000-7000-8000-000000000001'],
  ['email_verified', true],
  ['password_hash', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA'],
]) {
  test(`mass assignment: sign-up with "${field}" is refused and no account is made`, async () => {
    const email = randomEmail('mass');
    const password = strongPassword();
    const res = await api.post('/api/auth/signup', { email, password, [field]: value });
    assertProblem(res, 400, 'invalid_field', field);
    await loginFails(api, email, password);
  });
}

test('mass assignment: PATCH /api/me with roles, status, id, email, email_verified is refused', async () => {
  const user = await newUser(api, { name: 'Plain User' });
  const before = (await api.get('/api/me', { token: user.tokens.access_token })).body;
  for (const [field, value] of [
    ['roles', ['admin', 'user']],
    ['status', 'active'],
    ['state', 'disabled'],
    ['id', '00000000-0000-7000-8000-000000000001'],
    ['email', 'admin@example.com'],
    ['email_verified', true],
    ['created_at', '2000-01-01T00:00:00Z'],
  ]) {
    const res = await api.patch('/api/me', { name: 'Renamed', [field]: value }, { token: user.tokens.access_token });
    assertProblem(res, 400, 'invalid_field', field);
  }
  const after = (await api.get('/api/me', { token: user.tokens.access_token })).body;
  assert.deepEqual(after, before, 'nothing changed, not even the name');
  const fresh = await login(api, user.email, user.password);
  assert.deepEqual(decodeJwt(fresh.access_token).payload.roles, ['user']);
});

// --- SQL metacharacters ---------------------------------------------------------------------------

const SQLISH = [
  "Robert'); DROP TABLE users;--",
  "' OR '1'='1",
  '" OR ""="',
  '\\\'; SELECT pg_sleep(5); --',
  '%_%; UNION SELECT * FROM sessions --',
  '`name`/**/OR/**/1=1#',
];

test('SQL metacharacters in names are stored literally (sign-up and PATCH)', async () => {
  for (const name of SQLISH) {
    const user = await newUser(api, { name });
    const me = await api.get('/api/me', { token: user.tokens.access_token });
    assertStatus(me, 200);
    assert.equal(me.body.name, name);
    const renamed = `${name} 2`;
    assertStatus(await api.patch('/api/me', { name: renamed }, { token: user.tokens.access_token }), 200);
    assert.equal((await api.get('/api/me', { token: user.tokens.access_token })).body.name, renamed);
  }
});

test('SQL metacharacters in the e-mail, password and login fields', async () => {
  const victim = await newUser(api);
  // Not addresses at all: refused as malformed before any lookup.
  for (const email of [`${victim.email}' --`, `${victim.email}' OR '1'='1`, "' OR 1=1 --"]) {
    const res = await api.post('/api/auth/login', { email, password: "' OR '1'='1" });
    assertProblem(res, 400, 'invalid_email', 'email');
  }
  // A well-formed address with a password made of SQL: the generic 401.
  await loginFails(api, victim.email, "' OR '1'='1' --");
  // An apostrophe is valid in a local part, and a password may hold anything.
  const email = `o'brien-${randomHex(4)}@example.com`;
  const password = `${strongPassword()}'; DROP TABLE users; --`;
  await signup(api, { email, password });
  await login(api, email, password);
  await loginFails(api, email, "x' OR '1'='1");
  await login(api, victim.email, victim.password);
});

test('SQL metacharacters in path ids and query strings are just unknown ids', async () => {
  const user = await newUser(api);
  for (const id of ["' OR '1'='1", '1;DELETE FROM sessions', '..%2f..%2f', '%27%20OR%201%3D1']) {
    const res = await api.delete(`/api/me/sessions/${encodeURIComponent(id)}`, undefined, { token: user.tokens.access_token });
    assertProblem(res, 404, 'not_found');
  }
  const sessions = await api.get('/api/me/sessions', { token: user.tokens.access_token });
  assert.equal(sessions.body.sessions.length, 1);
  assertStatus(await refresh(user.tokens.refresh_token), 200);
});

test('SQL metacharacters in every other field get that field\'s own refusal, never a 500', async () => {
  const user = await newUser(api, { name: 'Unchanged' });
  const t = user.tokens.access_token;
  const X = "x' OR '1'='1'; DROP TABLE users; --";
  const enc = encodeURIComponent(X);
  const cases = [
    ['POST', '/api/auth/verify-email', { token: X }, null, 400, 'verification_token_invalid'],
    ['POST', '/api/auth/verify-email', { email: X, code: '123456' }, null, 400, 'invalid_email', 'email'],
    ['POST', '/api/auth/verify-email', { email: user.email, code: X }, null, 400, 'invalid_field', 'code'],
    ['POST', '/api/auth/verify-email/resend', { email: X }, null, 400, 'invalid_email', 'email'],
    ['POST', '/api/auth/password/forgot', { email: X }, null, 400, 'invalid_email', 'email'],
    ['POST', '/api/auth/password/reset', { token: X, password: strongPassword() }, null, 400, 'verification_token_invalid'],
    ['POST', '/api/auth/mfa/verify', { mfa_token: X, method: 'totp', code: '123456' }, null, 401, 'invalid_mfa_token'],
    ['POST', '/api/auth/mfa/verify', { mfa_token: 'abc', method: X, code: '123456' }, null, 400, 'invalid_field', 'method'],
    ['POST', '/api/auth/mfa/sms', { mfa_token: X }, null, 401, 'invalid_mfa_token'],
    ['POST', '/api/auth/sms/start', { phone: X }, null, 400, 'invalid_field', 'phone'],
    ['POST', '/api/auth/sms/verify', { phone: X, code: '123456' }, null, 400, 'invalid_field', 'phone'],
    ['POST', '/api/auth/refresh', { refresh_token: X }, null, 401, 'invalid_refresh_token'],
    ['POST', '/api/me/email', { new_email: X, password: user.password }, t, 400, 'invalid_email', 'new_email'],
    ['POST', '/api/me/password', { current: X, new: strongPassword() }, t, 401, 'invalid_credentials', 'current'],
    ['POST', '/api/me/phone', { phone: X }, t, 400, 'invalid_field', 'phone'],
    ['POST', '/api/me/phone/verify', { code: X }, t, 400, 'invalid_field', 'code'],
    ['DELETE', '/api/me', { password: X }, t, 401, 'invalid_credentials', 'password'],
    ['POST', '/api/me/mfa/totp/confirm', { code: X }, t, 400, 'invalid_field', 'code'],
    ['DELETE', '/api/me/mfa/totp', { password: X, code: '123456' }, t, 401, 'invalid_credentials', 'password'],
    ['POST', '/api/me/mfa/recovery-codes', { password: X, code: '123456' }, t, 401, 'invalid_credentials', 'password'],
    ['DELETE', `/api/me/identities/${enc}`, undefined, t, 404, 'not_found'],
    ['POST', `/api/me/identities/${enc}/link`, { return_to: APP }, t, 404, 'not_found'],
    ['GET', `/api/auth/social/${enc}/start`, undefined, null, 404, 'not_found'],
  ];
  for (const [method, path, json, token, status, code, field] of cases) {
    const res = await api(method, path, { json, token: token ?? undefined });
    assertProblem(res, status, code, field);
  }
  // Logout is idempotent: an unknown refresh token (of any shape) is a 204 that ends nothing.
  assertStatus(await api.post('/api/auth/logout', { refresh_token: X }), 204);
  assertStatus(await check(api, t), 200);
  const me = await api.get('/api/me', { token: t });
  assert.equal(me.body.name, 'Unchanged');
  assert.equal(me.body.email, user.email);
  await login(api, user.email, user.password);
});

// --- Unicode confusables and NUL bytes ----------------------------------------------------------

test('confusable and invisible characters in e-mails are refused, and never reach the victim', async () => {
  const local = `victim${randomHex(4)}`;
  const victim = await newUser(api, { email: `${local}@example.com` });
  const cyrillic = local.replace('i', '\u0456');
  const cases = [
    [`${cyrillic}@example.com`, 'invalid_email'], // Cyrillic i
    [`${local}@ex\u0430mple.com`, 'invalid_email'], // Cyrillic a in the domain
    [`${local}\uFF20example.com`, 'invalid_email'], // fullwidth @
    [`\u202E${local}@example.com`, 'invalid_email'], // right-to-left override
    [`${local}\u200B@example.com`, 'invalid_email'], // zero-width space
    [`"${local}"@example.com`, 'invalid_email'],
  ];
  for (const [email, code] of cases) {
    const password = strongPassword();
    const res = await api.post('/api/auth/signup', { email, password });
    assertProblem(res, 400, code, 'email');
    await loginFails(api, `${local}@example.com`, password);
  }
  await login(api, victim.email, victim.password);
});

test('case and whitespace variants of a taken address answer like a new sign-up and change nothing', async () => {
  const local = `victim${randomHex(4)}`;
  const victim = await newUser(api, { email: `${local}@example.com` });
  for (const email of [`${local.toUpperCase()}@EXAMPLE.COM`, ` ${local}@example.com `, `${local}@Example.Com`]) {
    const password = strongPassword();
    const res = await api.post('/api/auth/signup', { email, password });
    assertStatus(res, 201);
    await loginFails(api, victim.email, password); // the attacker's password was not set
  }
  await login(api, victim.email, victim.password);
});

test('NUL bytes and other controls in e-mails and names are refused', async () => {
  for (const [json, field] of [
    [{ email: `a${randomHex(4)}@example.com\u0000.evil.test` }, 'email'],
    [{ email: `a${randomHex(4)}\u0000@example.com` }, 'email'],
    [{ email: randomEmail(), name: 'Eve\u0000Admin' }, 'name'],
    [{ email: randomEmail(), name: 'Eve\u001b[31mred' }, 'name'],
    [{ email: randomEmail(), name: 'Eve\u0085next' }, 'name'],
  ]) {
    const password = strongPassword();
    const res = await api.post('/api/auth/signup', { ...json, password });
    assertProblem(res, 400, 'invalid_field', field);
    await loginFails(api, json.email.replace('\u0000', ''), password);
  }
  const user = await newUser(api, { name: 'Clean' });
  assertProblem(await api.patch('/api/me', { name: 'a\u0000b' }, { token: user.tokens.access_token }), 400, 'invalid_field', 'name');
  assert.equal((await api.get('/api/me', { token: user.tokens.access_token })).body.name, 'Clean');
});

test('a raw NUL or invalid UTF-8 in the JSON body is refused with 400 malformed_json', async () => {
  const email = randomEmail('nul');
  const password = strongPassword();
  for (const body of [
    Buffer.concat([Buffer.from(`{"email":"${email}`), Buffer.from([0]), Buffer.from(`","password":"${password}"}`)]),
    Buffer.concat([Buffer.from(`{"email":"${email}`), Buffer.from([0xc0, 0xaf]), Buffer.from(`","password":"${password}"}`)]),
    Buffer.concat([Buffer.from(`{"email":"${email}","password":"${password}`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
  ]) {
    const res = await api('POST', '/api/auth/signup', { body, contentType: 'application/json' });
    assertProblem(res, 400, 'malformed_json');
  }
  await loginFails(api, email, password);
});

// --- open redirects -------------------------------------------------------------------------------

const EVIL_RETURNS = [
  'https://evil.example/',
  '//evil.example/',
  '/\\evil.example/',
  'https://app.example.com.evil.example/',
  'https://app.example.com@evil.example/',
  'https://evil.example\\@app.example.com/',
  'https://app.example.com%2f@evil.example/',
  'http://app.example.com/',
  'https://app.example.com:8443/',
  'https://app.example.com/%2e%2e/%2e%2e/evil',
  'https://app.example.com/..%2f..%2fevil',
  'https://app.example.com/\r\nSet-Cookie: evil=1',
  'javascript:alert(document.domain)//https://app.example.com/',
  'data:text/html,<script>alert(1)</script>',
  'HTTPS://APP.EXAMPLE.COM.evil.example/',
  '\thttps://evil.example/',
  'https://evil.example/https://app.example.com/',
];

test('open redirect: social start refuses every foreign return_to with 400 and sets nothing', async () => {
  for (const target of EVIL_RETURNS) {
    const res = await api.get(`/api/auth/social/gh/start?return_to=${encodeURIComponent(target)}`);
    assertProblem(res, 400, 'invalid_return_to', 'return_to');
    assert.equal(res.headers.get('location'), null, show(res));
    assert.deepEqual(res.setCookies, [], show(res));
  }
  // Raw CR/LF in the query (not percent-encoded) never reaches a header either.
  const raw = await api.get('/api/auth/social/gh/start?return_to=https://app.example.com/%0d%0aLocation:%20https://evil.example/');
  assertProblem(raw, 400, 'invalid_return_to', 'return_to');
  // The allowed prefix passes, and the redirect goes to the provider, not to return_to.
  const ok = await api.get(`/api/auth/social/gh/start?return_to=${encodeURIComponent(`${APP}welcome`)}`);
  assertStatus(ok, 302);
  const location = new URL(ok.headers.get('location'));
  assert.equal(location.origin, 'https://github.com');
  assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
  assert.match(location.searchParams.get('state') ?? '', /^[A-Za-z0-9_-]{32,}$/);
  assert.ok(!location.href.includes('app.example.com'), 'return_to stays on the server, not in the URL');
});

test('open redirect: linking refuses every foreign return_to with 400', async () => {
  const user = await newUser(api);
  for (const target of EVIL_RETURNS.slice(0, 8)) {
    const res = await api.post('/api/me/identities/gh/link', { return_to: target }, { token: user.tokens.access_token });
    assertProblem(res, 400, 'invalid_return_to', 'return_to');
    assert.deepEqual(res.setCookies, [], show(res));
  }
});

test('open redirect: callback failures go to the public URL only, whatever the query says', async () => {
  for (const q of [
    'state=forged&code=x&return_to=https://evil.example/',
    'error=access_denied&error_description=%0d%0aSet-Cookie:%20a=b&redirect_uri=https://evil.example/',
    'state=forged&code=x&next=//evil.example/&redirect=https://evil.example/',
  ]) {
    const res = await api.get(`/api/auth/social/gh/callback?${q}`);
    assertStatus(res, 302);
    const location = res.headers.get('location');
    assert.ok(location.startsWith(`${srv.url}/login?error=`), show(res));
    assert.match(location, /^[^\r\n]*error=(social_state_invalid|social_cancelled|social_provider_error)$/, show(res));
    assert.deepEqual(res.setCookies.filter((c) => !c.startsWith('__Secure-latchkey_social=;')), [], show(res));
  }
  assertProblem(await api.get('/api/auth/social/nope/start?return_to=https://evil.example/'), 404, 'not_found');
});

// --- administration: LIKE wildcards, sort/filter injection, mass assignment -------------------

/** An administrator made with the CLI (as an operator would), logged in. */
async function newAdmin() {
  const email = randomEmail('admin');
  const password = strongPassword();
  const made = await runCli(['user', 'create', '--email', email, '--admin', '--password-stdin'], {
    env: srv.env,
    stdin: `${password}\n`,
    cwd: srv.dir,
  });
  assert.equal(made.code, 0, `${made.stdout}\n${made.stderr}`);
  return { email, password, tokens: await login(api, email, password) };
}

test('admin search: LIKE wildcards and quotes in q match literally, never everyone', async () => {
  const admin = await newAdmin();
  const tag = randomHex(4);
  await newUser(api, { name: `%${tag} percent` });
  await newUser(api, { name: `_${tag} underscore` });
  await newUser(api, { name: `O'Hara ${tag}` });
  // A shared database holds users of earlier runs: the bare wildcards only have to match
  // literally; the tagged queries must find this run's user.
  for (const [q, expected] of [
    ['%', null],
    ['_', null],
    ["' OR '1'='1", null], // other tests store this very name: only literal matches
    ['!%', null],
    ['\\%', null],
    [`%${tag}`, `%${tag} percent`],
    [`_${tag}`, `_${tag} underscore`],
    [`o'hara ${tag}`, `O'Hara ${tag}`],
  ]) {
    const res = await api.get(`/api/admin/users?limit=100&q=${encodeURIComponent(q)}`, { token: admin.tokens.access_token });
    assertStatus(res, 200);
    const names = res.body.users.map((u) => u.name);
    if (expected) assert.deepEqual(names, [expected], `q=${q}`);
    for (const u of res.body.users) {
      const hit = [u.email, u.name, u.phone].some((v) => (v ?? '').toLowerCase().startsWith(q.toLowerCase()));
      assert.ok(hit, `q=${q} matched ${JSON.stringify(u)} although no field starts with it`);
    }
  }
});

test('admin list: sort and filter values are an allow-list, never SQL', async () => {
  const admin = await newAdmin();
  for (const [param, value] of [
    ['sort', 'email; DROP TABLE users'],
    ['sort', 'password_hash'],
    ['sort', '(SELECT 1)'],
    ['status', "active' OR '1'='1"],
    ['verified', '1 OR 1=1'],
    ['limit', '1; DELETE FROM users'],
  ]) {
    const res = await api.get(`/api/admin/users?${param}=${encodeURIComponent(value)}`, { token: admin.tokens.access_token });
    assertProblem(res, 400, 'invalid_field', param);
  }
  assertStatus(await api.get('/api/admin/users?sort=-email', { token: admin.tokens.access_token }), 200);
});

test('admin mass assignment: PATCH of id, password_hash or created_at is refused', async () => {
  const admin = await newAdmin();
  const user = await newUser(api, { name: 'Target' });
  const id = decodeJwt(user.tokens.access_token).payload.sub;
  const before = (await api.get(`/api/admin/users/${id}`, { token: admin.tokens.access_token })).body;
  for (const [field, value] of [
    ['id', '00000000-0000-7000-8000-000000000001'],
    ['password_hash', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA'],
    ['created_at', '2000-01-01T00:00:00Z'],
    ['has_password', false],
  ]) {
    const res = await api.patch(`/api/admin/users/${id}`, { name: 'Changed', [field]: value }, { token: admin.tokens.access_token });
    assertProblem(res, 400, 'invalid_field', field);
  }
  const after = (await api.get(`/api/admin/users/${id}`, { token: admin.tokens.access_token })).body;
  assert.deepEqual(after, before);
  await login(api, user.email, user.password);
  // A plain user reaching the admin API gets 403 and changes nothing.
  const res = await api.patch(`/api/admin/users/${id}`, { roles: ['admin', 'user'] }, { token: user.tokens.access_token });
  assertProblem(res, 403, 'forbidden');
  assert.deepEqual((await api.get(`/api/admin/users/${id}`, { token: admin.tokens.access_token })).body.roles, before.roles);
});
